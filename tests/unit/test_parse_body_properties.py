"""Properties of parse_body over arbitrary JSON objects: it never raises, and loses no item."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emailhook.domain.addresses import is_address
from emailhook.domain.events import Shape
from emailhook.domain.recipients import NOT_AN_ADDRESS
from emailhook.providers.infobip.blocklist import is_blocklist_body
from emailhook.providers.infobip.channels import channel_of
from emailhook.providers.infobip.parsing import count_events, detect_shape, parse_body

#: The field names parse_body reads, so that generated objects often look like real bodies.
KNOWN_KEYS = [
    "results", "messageId", "to", "bulkId", "doneAt", "sentAt", "status", "error",
    "groupId", "groupName", "id", "name", "description", "permanent", "callbackData",
    "notificationType", "eventId", "recipient", "sendDateTime", "url", "eventDetails", "type",
    "qj_contact_id", "qj_creditor_id", "qj_creditor_name", "qj_approach_flow_campaign",
]  # fmt: skip

# What orjson can decode a body into: 64-bit integers (larger ones become floats), finite
# floats, and text without lone surrogates (orjson refuses them).
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(
        [
            "2024-07-16T17:26:54.966-0300",
            "0001-01-01T00:00:00+0100",
            '{"qj_contact_id": 3}',
            "{'qj_contact_id': '--5'}",
            "{'qj_contact_id': '\u00b2'}",
            "OPENED",
        ]
    )
)
keys = st.sampled_from(KNOWN_KEYS) | st.text(max_size=8)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=5),
    max_leaves=12,
)
json_objects = st.dictionaries(keys, json_values, max_size=6)
batches = st.fixed_dictionaries(
    {"results": st.lists(json_objects | json_values, max_size=5)},
    optional={"notificationType": json_values, "messageId": json_values},
)

FAST = settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@FAST
@given(json_objects | batches)
def test_parse_body_never_raises_and_matches_the_detected_shape(body: dict[str, Any]) -> None:
    parsed = parse_body(body)
    shape = detect_shape(body)
    assert parsed.shape is shape
    assert parse_body(body) == parsed  # deterministic: a redelivery gets the same keys
    if shape is Shape.UNKNOWN:
        assert (parsed.events, parsed.platform_events, parsed.rejected) == ([], [], [])
    for event in parsed.events:
        assert len(event.event_key) <= 128  # the event_key column is String(128)
        assert event.event_key == event.event_key.strip()
    for platform_event in parsed.platform_events:
        assert len(platform_event.event_key) <= 128


@FAST
@given(batches)
def test_every_batch_item_becomes_an_event_a_rejection_or_another_channel(
    body: dict[str, Any],
) -> None:
    parsed = parse_body(body)
    results = body["results"]

    assert parsed.shape is Shape.DELIVERY_REPORTS
    others = parsed.other_channels
    assert len(parsed.events) + len(parsed.rejected) + len(others) == len(results)
    assert count_events(body, parsed.shape) == len(results)
    indexes = [rejection.index for rejection in parsed.rejected]
    assert indexes == sorted(set(indexes))
    assert not set(indexes) & {other.index for other in others}
    blocklist = is_blocklist_body(body)
    for rejection in parsed.rejected:
        if isinstance(results[rejection.index], dict):
            assert rejection.reason in (
                ("not a blocklist event", "blocklist event has no destination")
                if blocklist
                else ("report has neither messageId nor to",)
            )
    for other in others:
        if other.channel == NOT_AN_ADDRESS:  # an e-mail item whose recipient is no address
            assert channel_of(results[other.index]) in ("EMAIL", "UNKNOWN", "BLOCKLIST_EMAIL")
        else:
            assert channel_of(results[other.index]) not in ("EMAIL", "UNKNOWN")
    for event in parsed.events:
        assert event.email is None or is_address(event.email)
