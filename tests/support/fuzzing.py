"""Hypothesis strategies for hostile webhook input: JSON, Infobip-like bodies, callbackData."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

#: The field names the parser reads, so that generated objects often look like real bodies.
KNOWN_KEYS = [
    "results", "messageId", "to", "bulkId", "doneAt", "sentAt", "status", "error",
    "groupId", "groupName", "id", "name", "description", "permanent", "callbackData",
    "notificationType", "eventId", "recipient", "sendDateTime", "url", "eventDetails", "type",
    "qj_contact_id", "qj_creditor_id", "qj_creditor_name", "qj_approach_flow_campaign",
]  # fmt: skip

#: Infobip's three body shapes (and a platform event), as the sender documents them; the
#: seed bodies are added when the shared folder is there, but fuzzing never needs it.
TEMPLATES: list[dict[str, Any]] = [
    {
        "results": [
            {
                "bulkId": "b-1",
                "messageId": "m-1",
                "to": "ana.silva@example.com",
                "sentAt": "2024-07-16T17:26:54.966-0300",
                "doneAt": "2024-07-16T17:26:58.005-0300",
                "smsCount": 1,
                "price": {"pricePerMessage": 0, "currency": "UNKNOWN"},
                "status": {
                    "groupId": 3,
                    "groupName": "DELIVERED",
                    "id": 5,
                    "name": "DELIVERED_TO_HANDSET",
                    "description": "Message delivered to handset",
                },
                "error": {"groupId": 0, "groupName": "OK", "id": 0, "name": "NO_ERROR"},
                "callbackData": '{"qj_contact_id": 3, "qj_creditor_id": "13"}',
            }
        ]
    },
    {
        "messageId": "m-2",
        "to": "bruno@example.org",
        "doneAt": "2020-09-08T05:27:57.628+0000",
        "status": {"groupName": "UNDELIVERABLE", "groupId": 2},
        "error": {"id": 6034, "name": "EC_SUPPRESSED", "permanent": True},
        "callbackData": "{'qj_contact_id': '310372388', 'qj_creditor_name': 'Quite'}",
    },
    {
        "notificationType": "CLICKED",
        "eventId": "ev-1",
        "domain": "example.com",
        "recipient": "carla@example.com",
        "url": "https://example.com/x",
        "messageId": "m-3",
        "sendDateTime": 1720000000000,
        "callbackData": '{"qj_contact_id": 7}',
        "recipientInfo": {"deviceType": "Desktop", "os": "Linux"},
        "geoLocation": {"country": "Brazil"},
    },
    {"eventId": "pe-1", "eventDetails": {"type": "HIGH_BOUNCE_RATE_WARNING", "rate": 0.2}},
]


def seed_templates() -> list[dict[str, Any]]:
    """Return the built-in templates plus the seed bodies, when the shared folder exists."""
    seed_dir = Path(
        os.environ.get(
            "EMAILHOOK_SEED_DIR",
            Path(__file__).resolve().parents[1] / "data" / "seed",
        )
    )
    seeds = [json.loads(p.read_bytes()) for p in sorted(seed_dir.glob("*.json"))]
    return TEMPLATES + [s for s in seeds if isinstance(s, dict)]


# --- JSON ---------------------------------------------------------------------------------

#: text orjson can encode: no lone surrogates
safe_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | safe_text
    | st.sampled_from(
        [
            "",
            "2024-07-16T17:26:54.966-0300",
            "9999-12-31T23:59:59.999+1400",
            "DELIVERED",
            "OPENED",
            "a\x00b",
            "ana.silva@example.com",
            "\u202e\ufeff",
        ]
    )
)
keys = st.sampled_from(KNOWN_KEYS) | safe_text
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=5),
    max_leaves=16,
)
json_objects = st.dictionaries(keys, json_values, max_size=6)


@st.composite
def nested_json(draw: st.DrawFn, max_depth: int = 48) -> bytes:
    """A JSON object nested ``1..max_depth`` levels deep, of arrays and objects mixed."""
    depth = draw(st.integers(min_value=1, max_value=max_depth))
    kinds = draw(st.lists(st.booleans(), min_size=depth - 1, max_size=depth - 1))
    opening = "".join('{"k":' if is_object else "[" for is_object in kinds)
    closing = "".join("}" if is_object else "]" for is_object in reversed(kinds))
    return f'{{"a":{opening}0{closing}}}'.encode()


# --- callbackData -------------------------------------------------------------------------

python_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**60, max_value=2**14000)  # repr() prints 4300 digits at most
    | st.floats()
    | st.complex_numbers(allow_nan=True)
    | st.text(max_size=12)  # lone surrogates included: repr() escapes them
    | st.binary(max_size=8)
)
python_values = st.recursive(
    python_scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.lists(children, max_size=3).map(tuple)
        | st.frozensets(st.integers() | st.text(max_size=4), max_size=3)
        | st.dictionaries(st.sampled_from(KNOWN_KEYS) | st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=10,
)
hostile_literals = st.sampled_from(
    [
        "{'a': " + "(" * 300 + ")" * 300 + "}",
        "{'a': " + "-" * 3000 + "1}",
        "{'a': " + "not " * 1500 + "1}",
        "{'a': 9**9**9**9}",
        "{'a': 'x' * 10**10}",
        "{'a': " + "9" * 5000 + "}",
        "{'a': 0x" + "f" * 8000 + "}",
        "{'a': " + "[" * 3000,
        "{'a': (lambda: 1)()}",
        "{'a': __import__('os').getcwd()}",
        "{'qj_contact_id': 1e999999}",
        "{'qj_contact_id': '\\udc00'}",
        "{'a': b'\\x00\\xff'}",
        "{" + "'x'," * 2000 + "}",
        '{"a": "\\ud800"}',
        '{"a": 1e400}',
    ]
)
callback_data = st.one_of(
    json_values.map(lambda v: json.dumps({"qj_contact_id": v}, ensure_ascii=False)),
    python_values.map(lambda v: repr({"qj_contact_id": v, "qj_creditor_id": v})),
    python_values.map(repr),
    hostile_literals,
    st.text(max_size=40).map(lambda t: "{" + t),
    st.text(max_size=40),
    json_objects,
    json_values,
)


# --- Infobip-like bodies ------------------------------------------------------------------


@st.composite
def mutated_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """An Infobip-like body: a template with values replaced, keys dropped or added."""
    body: dict[str, Any] = copy.deepcopy(draw(st.sampled_from(seed_templates())))
    for _ in range(draw(st.integers(min_value=0, max_value=6))):
        container = _pick_container(draw, body)
        action = draw(st.sampled_from(["replace", "delete", "add", "callback"]))
        if isinstance(container, list):
            if not container or action == "add":
                container.append(draw(json_values | json_objects))
            elif action == "delete":
                container.pop(draw(st.integers(0, len(container) - 1)))
            else:
                container[draw(st.integers(0, len(container) - 1))] = draw(json_values)
        elif action == "delete" and container:
            container.pop(draw(st.sampled_from(sorted(container))))
        elif action == "callback":
            container["callbackData"] = draw(callback_data)
        elif action == "add" or not container:
            container[draw(keys)] = draw(json_values)
        else:
            container[draw(st.sampled_from(sorted(container)))] = draw(json_values)
    return body


def _pick_container(draw: st.DrawFn, body: dict[str, Any]) -> dict[str, Any] | list[Any]:
    containers: list[dict[str, Any] | list[Any]] = []
    stack: list[Any] = [body]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            containers.append(value)
            stack.extend(value.values())
        elif isinstance(value, list):
            containers.append(value)
            stack.extend(value)
    chosen: dict[str, Any] | list[Any] = draw(st.sampled_from(containers))
    return chosen


def to_bytes(body: object) -> bytes:
    """Encode ``body`` as Infobip would: UTF-8 JSON."""
    return json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")


#: raw bodies: arbitrary bytes, near-JSON, broken encodings, deep nesting, Infobip-like JSON
raw_bodies = st.one_of(
    st.binary(max_size=300),
    mutated_bodies().map(to_bytes),
    json_objects.map(to_bytes),
    json_values.map(to_bytes),
    nested_json(),
    st.sampled_from(
        [
            b"",
            b" ",
            b"{",
            b"{}",
            b"[]",
            b"null",
            b'{"a": "\\ud800"}',
            b'{"a": "\\udc00\\ud800"}',
            b'{"a": "\xed\xa0\x80"}',
            b'{"a": "\xc3\x28"}',
            b"\xef\xbb\xbf{}",
            b'{"a": 1e999}',
            b'{"a": NaN}',
            b'{"a": 123456789012345678901234567890}',
            b'{"a": 1}{"b": 2}',
        ]
    ),
    st.tuples(mutated_bodies().map(to_bytes), st.binary(min_size=1, max_size=4)).map(
        lambda pair: pair[0][:-1] + pair[1] + pair[0][-1:]  # bytes spliced into valid JSON
    ),
)
