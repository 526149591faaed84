"""SparkPost: every saved sample normalized field by field, bounce_class codes, the
initial_open/open pair counted once, pings answered without keeping, and odd bodies."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from emailhook.domain.vocabulary import ALREADY_SUPPRESSED, BounceClass, EventType, RejectReason
from emailhook.providers.base import StoredRequest, UnreadableBodyError
from emailhook.providers.sparkpost.webhook import BOUNCE_CLASSES, SparkPost
from support.signing import (
    assert_fields,
    basic,
    json_request,
    parse_sample,
    provider_values,
    sample,
    sample_names,
    with_header,
)

PROVIDER = SparkPost(provider_values(SparkPost, basic_auth=["hook:s3cret"]))
E, B, R = EventType, BounceClass, RejectReason


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[arg-type]


#: sample -> per event: event_type, bounce_class, reject_reason, status, email, message_id,
#: event_at, provider_event_id
EXPECTED: dict[str, list[tuple[object, ...]]] = {
    "injection_event": [
        (
            E.QUEUED,
            None,
            None,
            "injection",
            "recipient@example.com",
            "65832150921904138",
            at(2016, 2, 2, 19, 50),
            "92356927693813856",
        ),
    ],
    "delivery_event": [
        (
            E.DELIVERED,
            None,
            None,
            "delivery",
            "recipient@example.com",
            "65832150921904138",
            at(2016, 2, 2, 19, 50),
            "92356927693813856",
        ),
    ],
    "bounce_event": [
        (
            E.BOUNCED,
            B.HARD,
            R.INVALID,
            "bounce",
            "bounce@example.com",
            "84345317650824116",
            at(2016, 6, 1, 23, 42, 28),
            "84345317653491230",
        ),
    ],
    "delay_event": [
        (
            E.DEFERRED,
            B.SOFT,
            None,
            "delay",
            "recipient@nomx.example.com",
            "84345317650824116",
            at(2016, 6, 2, 0, 2, 28),
            "84345317653675522",
        ),
    ],
    "unsubscribe_event": [
        (
            E.UNSUBSCRIBED,
            None,
            None,
            "list_unsubscribe",
            "recipient@example.com",
            "84345993965073285",
            at(2016, 6, 2, 19, 4, 40),
            "66331590532986193",
        ),
    ],
    "generation_rejection_event": [
        (
            E.REJECTED,
            None,
            R.BOUNCED,
            "generation_rejection",
            "suppressed@example.com",
            "102360394387646691",
            at(2016, 6, 2, 20, 40, 34),
            "102360394390563734",
        ),
    ],
    "generation_failure_event": [
        (
            E.FAILED,
            None,
            None,
            "generation_failure",
            "recipient@example.com",
            "139013368081177607",
            at(2018, 10, 11, 23, 24, 45),
            "139013368081587254",
        ),
    ],
    "bounce_challenge_response": [
        (E.AUTORESPONDED, B.SOFT, None, "bounce", "vacationing@example.com", None, None, None),
    ],
    "open_event": [(E.OPENED, None, None, "open", "recipient@example.com", None, None, None)],
    "initial_open_event_as_opened": [
        (E.OPENED, None, None, "initial_open", "recipient@example.com", None, None, None),
    ],
    "click_event": [
        (E.CLICKED, None, None, "amp_click", "recipient@example.com", None, None, None),
    ],
    # amp_open and amp_initial_open of one view (no time, client or IP to tell them apart)
    "amp_events": [
        (E.OPENED, None, None, "amp_open", None, None, None, None),
        (E.CLICKED, None, None, "amp_click", None, None, None, None),
    ],
    "ping_event": [],
    "variant_open_pair": [
        (
            E.OPENED,
            None,
            None,
            "initial_open",
            "recipient@example.com",
            "65832150921904138",
            at(2016, 2, 2, 19, 50),
            "92356927693813901",
        ),
        (
            E.OPENED,
            None,
            None,
            "open",
            "recipient@example.com",
            "65832150921904138",
            at(2016, 2, 2, 20, 50),
            "92356927693813977",
        ),
    ],
    "variant_rcpt_meta_contact": [
        (
            E.DELIVERED,
            None,
            None,
            "delivery",
            "recipient@example.com",
            "65832150921904138",
            at(2016, 2, 2, 19, 50),
            "92356927693813857",
        ),
        (
            E.BOUNCED,
            B.SOFT,
            R.BOUNCED,
            "bounce",
            "full@example.com",
            "65832150921904138",
            at(2016, 2, 2, 19, 51, 40),
            "92356927693813858",
        ),
    ],
}
FIELDS = (
    "event_type", "bounce_class", "reject_reason", "status", "email", "message_id",
    "event_at", "provider_event_id",
)  # fmt: skip


def test_every_saved_sample_has_expectations() -> None:
    assert sorted(EXPECTED) == sample_names("sparkpost")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_sample_normalizes_to_its_fields(name: str) -> None:
    parsed = parse_sample(PROVIDER, name)
    assert parsed.rejected == []
    assert len(parsed.events) == len(EXPECTED[name])
    for event, row in zip(parsed.events, EXPECTED[name], strict=True):
        assert_fields(event, {"provider": "sparkpost", **dict(zip(FIELDS, row, strict=True))})
        assert event.raw["type"] == event.status


def test_the_same_body_parsed_twice_gives_the_same_keys() -> None:
    for name in EXPECTED:
        first = [e.event_key for e in parse_sample(PROVIDER, name).events]
        assert first == [e.event_key for e in parse_sample(PROVIDER, name).events]


def test_distinct_events_with_ids_get_distinct_keys() -> None:
    names = ["bounce_event", "delay_event", "unsubscribe_event", "generation_rejection_event"]
    keys = {parse_sample(PROVIDER, n).events[0].event_key for n in names}
    assert len(keys) == len(names)


def test_initial_open_and_open_of_one_view_are_one_opened_event_a_later_open_another() -> None:
    # anymail leaves initial_open unmapped by default because SparkPost sends both for one
    # view; mapped here, the pair gives one key, in one batch or in two
    pair = sample("sparkpost", "variant_open_pair")
    initial, later = parse_sample(PROVIDER, "variant_open_pair").events
    assert (initial.status, later.status) == ("initial_open", "open")
    assert initial.event_key != later.event_key
    (bottom,) = PROVIDER.parse(StoredRequest(json.dumps([pair[1]]).encode())).events
    assert bottom.provider_event_id != initial.provider_event_id
    assert bottom.event_key == initial.event_key


def test_rcpt_meta_fills_the_contact_and_campaign() -> None:
    delivered, bounced = parse_sample(PROVIDER, "variant_rcpt_meta_contact").events
    assert (delivered.qj_contact_id, delivered.campaign, delivered.creditor_id) == (
        4711,
        "spring",
        "13",
    )
    assert bounced.qj_contact_id == 4712
    assert bounced.error_description == "452 4.2.2 Mailbox full"
    injection = parse_sample(PROVIDER, "injection_event").events[0]
    assert injection.callback_data == {"customKey": "customValue"}
    assert injection.qj_contact_id is None


def test_a_soft_bounce_code_is_not_hard() -> None:
    bounced = parse_sample(PROVIDER, "variant_rcpt_meta_contact").events[1]
    assert bounced.bounce_class is BounceClass.SOFT


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("10", (B.HARD, R.INVALID, E.BOUNCED)),
        ("20", (B.SOFT, R.BOUNCED, E.BOUNCED)),
        ("24", (B.SOFT, R.TIMED_OUT, E.BOUNCED)),
        ("25", (B.BLOCK, R.BLOCKED, E.BOUNCED)),
        ("30", (B.HARD, R.BOUNCED, E.BOUNCED)),
        ("51", (B.BLOCK, R.SPAM, E.BOUNCED)),
        ("60", (B.SOFT, None, E.AUTORESPONDED)),
        ("80", (None, None, E.SUBSCRIBED)),
        ("90", (None, None, E.UNSUBSCRIBED)),
        ("999", (B.UNDETERMINED, R.OTHER, E.BOUNCED)),
    ],
)
def test_bounce_class_codes_decide_hard_soft_and_type(
    code: str, expected: tuple[object, ...]
) -> None:
    body = [{"msys": {"message_event": {"type": "bounce", "bounce_class": code}}}]
    event = PROVIDER.parse(StoredRequest(json.dumps(body).encode())).events[0]
    assert (event.bounce_class, event.reject_reason, event.event_type) == expected


def test_the_table_covers_sparkposts_published_codes() -> None:
    published = {"1", "10", "20", "21", "22", "23", "24", "25", "26", "30", "40", "50", "51"}
    published |= {"52", "53", "54", "60", "70", "80", "90", "100"}
    assert set(BOUNCE_CLASSES) == published


def test_a_rejection_of_a_suppressed_address_is_already_suppressed_and_others_are_not() -> None:
    suppressed = parse_sample(PROVIDER, "generation_rejection_event").events[0]
    assert suppressed.event_type is EventType.REJECTED
    assert suppressed.reject_reason in ALREADY_SUPPRESSED
    body = [{"msys": {"message_event": {"type": "policy_rejection", "bounce_class": "25",
             "raw_reason": "550 5.7.1 [internal] message rejected by policy"}}}]  # fmt: skip
    policy = PROVIDER.parse(StoredRequest(json.dumps(body).encode())).events[0]
    assert policy.event_type is EventType.REJECTED
    assert policy.reject_reason is RejectReason.BLOCKED


def test_a_ping_is_a_control_message_and_a_batch_with_events_is_not() -> None:
    signed = with_header(json_request(b'[{"msys":{}}]'), "authorization", basic("hook:s3cret"))
    assert PROVIDER.control(signed) == "SparkPost ping"
    assert PROVIDER.control(json_request(b'[{"msys":{}},{"msys":{"track_event":{}}}]')) is None
    assert PROVIDER.control(json_request(b"[]")) is None


@pytest.mark.parametrize("body", [b"[]", b'[{"msys":{}}]'])
def test_a_body_of_zero_events_parses_to_no_events(body: bytes) -> None:
    parsed = PROVIDER.parse(StoredRequest(body))
    assert (parsed.events, parsed.rejected) == ([], [])


def test_bad_items_are_rejected_and_the_rest_kept() -> None:
    body = [
        {"msys": {"message_event": {"type": "delivery", "event_id": "1"}}},
        {"nope": 1},
        {"msys": {"a_event": {"type": "x"}, "b_event": {"type": "y"}}},
        {"msys": {"relay_message": {"protocol": "smtp"}}},
        {"msys": {"track_event": {"no": "type"}}},
    ]
    parsed = PROVIDER.parse(StoredRequest(json.dumps(body).encode()))
    assert len(parsed.events) == 1
    assert [item.index for item in parsed.rejected] == [1, 2, 3, 4]


def test_an_unknown_type_is_kept_raw_as_unknown() -> None:
    body = [{"msys": {"ab_test_event": {"type": "ab_test_completed", "event_id": "7"}}}]
    event = PROVIDER.parse(StoredRequest(json.dumps(body).encode())).events[0]
    assert event.event_type is EventType.UNKNOWN
    assert event.raw == {"type": "ab_test_completed", "event_id": "7"}


@pytest.mark.parametrize("body", [b"not json", b'{"msys": {}}', b'"text"'])
def test_a_body_that_is_not_sparkposts_is_unreadable(body: bytes) -> None:
    with pytest.raises(UnreadableBodyError):
        PROVIDER.parse(StoredRequest(body))
