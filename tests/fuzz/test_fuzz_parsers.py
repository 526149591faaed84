"""Fuzzing the parsers: for any input, a clear refusal or a storable result, never a crash."""

from __future__ import annotations

import json
from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from emailhook.domain.callback_data import MAX_CALLBACK_DATA_CHARS, parse_callback_data
from emailhook.domain.events import Shape
from emailhook.providers.base import UnreadableBodyError
from emailhook.providers.infobip.auth import Credentials, WebhookAuth
from emailhook.providers.infobip.body import decode_body
from emailhook.providers.infobip.parsing import detect_shape, parse_body
from support.fuzzing import (
    callback_data,
    json_objects,
    json_values,
    mutated_bodies,
    nested_json,
    python_values,
    raw_bodies,
)

MAX_DEPTH = 32


def depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


def storable(value: Any) -> None:
    """Fail unless ``value`` can be written as JSON text in UTF-8, as the database will."""
    json.dumps(value, allow_nan=False).encode("utf-8")


def decoded_or_refusal(raw: bytes, max_depth: int = MAX_DEPTH) -> dict[str, Any] | str:
    """Return decode_body's object, or its refusal's message; any other exception escapes."""
    try:
        return dict(decode_body(raw, max_depth=max_depth))
    except UnreadableBodyError as error:
        return str(error)


@given(raw_bodies)
def test_decode_body_returns_an_object_or_refuses_with_invalid_body_error(raw: bytes) -> None:
    body = decoded_or_refusal(raw)
    if isinstance(body, str):
        assert body.startswith("the body ")
        return
    assert body == orjson.loads(raw)
    assert depth(body) <= MAX_DEPTH
    raw.decode("utf-8")  # whatever was accepted is valid UTF-8, without lone surrogates


@given(nested_json(max_depth=60))
def test_decode_body_refuses_exactly_the_bodies_nested_past_the_limit(raw: bytes) -> None:
    actual = depth(orjson.loads(raw))
    result = decoded_or_refusal(raw)
    if actual > MAX_DEPTH:
        assert result == f"the body is nested deeper than {MAX_DEPTH} levels"
    else:
        assert isinstance(result, dict)


@given(st.binary(min_size=1, max_size=200), st.integers(min_value=0))
def test_bytes_that_are_not_utf8_are_refused_whatever_json_surrounds_them(
    junk: bytes, where: int
) -> None:
    valid = b'{"callbackData": "x", "to": "a@b.c"}'
    at = where % (len(valid) + 1)
    raw = valid[:at] + junk + valid[at:]
    result = decoded_or_refusal(raw)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        assert isinstance(result, str), "invalid UTF-8 was accepted"
        assert "not valid UTF-8" in result


@given(mutated_bodies() | json_objects)
def test_parse_body_never_raises_and_everything_it_returns_is_storable(
    body: dict[str, Any],
) -> None:
    parsed = parse_body(body)
    assert parsed.shape is detect_shape(body)
    for event in parsed.events:
        storable(event.raw)
        storable(event.callback_data)
        assert len(event.event_key) <= 128
        assert event.qj_contact_id is None or -(2**63) <= event.qj_contact_id < 2**63
    for platform_event in parsed.platform_events:
        storable(platform_event.raw)
    if parsed.shape is Shape.UNKNOWN:
        assert parsed.events == []
        assert parsed.platform_events == []


@given(callback_data)
def test_parse_callback_data_gives_a_storable_dict_or_none(value: object) -> None:
    data = parse_callback_data(value)
    assert data is None or isinstance(data, dict)
    storable(data)
    if isinstance(value, str) and len(value.strip()) > MAX_CALLBACK_DATA_CHARS:
        assert data is None


@given(python_values)
def test_any_python_literal_is_decoded_to_storable_json_or_ignored(value: object) -> None:
    text = repr({"qj_contact_id": value, "other": value})
    storable(parse_callback_data(text))


@given(json_values)
def test_callback_data_sent_as_a_json_object_is_kept_storable(value: object) -> None:
    storable(parse_callback_data({"qj_contact_id": value, "nested": {"v": value}}))


SECRETS = ["token-4c2e8a", "token-7d1f3b"]
AUTH = WebhookAuth(
    tokens=SECRETS, basic=[f"u:{s}" for s in SECRETS], header_values=SECRETS, bearer=SECRETS,
    hmac_keys=SECRETS,
)  # fmt: skip
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=80)


@given(
    st.none() | st.text(max_size=30),
    st.none() | st.text(max_size=30),
    st.dictionaries(
        st.sampled_from(["Authorization", "X-Webhook-Secret", "X-Signature"]) | header_text,
        header_text,
        max_size=4,
    ),
    st.binary(max_size=64),
)
def test_webhook_auth_never_raises_and_lets_in_no_made_up_credentials(
    path_token: str | None, query_token: str | None, headers: dict[str, str], body: bytes
) -> None:
    offered = Credentials(path_token, query_token, headers, body)
    verdict = AUTH.check(offered)
    if verdict.accepted:  # only possible when a generated value happens to be a secret
        values = [path_token, query_token, *headers.values()]
        assert any(secret in (value or "") for secret in SECRETS for value in values)
    for secret in SECRETS:
        assert secret not in verdict.method
