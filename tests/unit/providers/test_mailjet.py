"""Mailjet: every saved sample normalized field by field, grouped and bare bodies, big
MessageIDs kept exact, hard_bounce deciding hard or soft, preblocked drops, Payload."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from emailhook.domain.vocabulary import ALREADY_SUPPRESSED, BounceClass, EventType, RejectReason
from emailhook.providers.base import StoredRequest, UnreadableBodyError
from emailhook.providers.mailjet.webhook import Mailjet
from support.signing import assert_fields, parse_sample, provider_values, sample_names

PROVIDER = Mailjet(provider_values(Mailjet, basic_auth=["hook:s3cret"]))
E, B, R = EventType, BounceClass, RejectReason
SENT_AT = datetime(2017, 6, 22, 1, 5, 27, tzinfo=UTC)
MID = "12345678901234567"

#: sample -> per event: event_type, bounce_class, reject_reason, status, email, message_id,
#: event_at
EXPECTED: dict[str, list[tuple[object, ...]]] = {
    "sent_event": [(E.DELIVERED, None, None, "sent", "recipient@example.com", MID, SENT_AT)],
    "non_grouped_event": [(E.DELIVERED, None, None, "sent", "recipient@example.com", MID, SENT_AT)],
    "open_event": [(E.OPENED, None, None, "open", "recipient@example.com", MID, SENT_AT)],
    # anymail's click sample is an "open" carrying a url
    "click_event": [(E.OPENED, None, None, "open", "recipient@example.com", MID, SENT_AT)],
    "bounce_event": [(E.BOUNCED, B.HARD, R.BOUNCED, "bounce", "invalid@invalid", MID, SENT_AT)],
    "blocked_event": [(E.REJECTED, None, R.INVALID, "blocked", "bad@example.com", MID, SENT_AT)],
    "spam_event": [(E.COMPLAINED, None, None, "spam", "spam@example.com", MID, SENT_AT)],
    "unsub_event": [(E.UNSUBSCRIBED, None, None, "unsub", "recipient@example.com", MID, SENT_AT)],
    "bounced_greylist_event": [
        (E.DEFERRED, B.SOFT, None, "bounce", "protected@example.com", MID, SENT_AT)
    ],
    "variant_preblocked_and_contact": [
        (E.REJECTED, None, R.BOUNCED, "blocked", "gone@example.com", "9007199254740993", SENT_AT),
        (
            E.BOUNCED,
            B.SOFT,
            R.BOUNCED,
            "bounce",
            "full@example.com",
            "9007199254740995",
            datetime(2017, 6, 22, 1, 5, 28, tzinfo=UTC),
        ),
    ],
}
FIELDS = ("event_type", "bounce_class", "reject_reason", "status", "email", "message_id",
          "event_at")  # fmt: skip


def test_every_saved_sample_has_expectations() -> None:
    assert sorted(EXPECTED) == sample_names("mailjet")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_sample_normalizes_to_its_fields(name: str) -> None:
    parsed = parse_sample(PROVIDER, name)
    assert parsed.rejected == []
    assert len(parsed.events) == len(EXPECTED[name])
    for event, row in zip(parsed.events, EXPECTED[name], strict=True):
        assert_fields(event, {"provider": "mailjet", **dict(zip(FIELDS, row, strict=True))})
        assert event.raw["event"] == event.status
        assert event.provider_event_id is None  # Mailjet has no event id


def test_a_message_id_beyond_two_to_the_53_stays_exact() -> None:
    blocked = parse_sample(PROVIDER, "variant_preblocked_and_contact").events[0]
    assert blocked.message_id == str(2**53 + 1)
    assert float(2**53 + 1) != 2**53 + 1  # what a float would have made of it


def test_a_bare_object_and_a_one_item_array_give_the_same_event() -> None:
    bare = parse_sample(PROVIDER, "non_grouped_event").events[0]
    grouped = parse_sample(PROVIDER, "sent_event").events[0]
    assert (bare.event_key, bare.message_id) == (grouped.event_key, grouped.message_id)


def test_a_preblocked_drop_is_already_suppressed_other_blocks_are_not() -> None:
    preblocked = parse_sample(PROVIDER, "variant_preblocked_and_contact").events[0]
    assert preblocked.reject_reason in ALREADY_SUPPRESSED
    typo = parse_sample(PROVIDER, "blocked_event").events[0]
    assert typo.event_type is EventType.REJECTED
    assert typo.reject_reason not in ALREADY_SUPPRESSED


def test_hard_bounce_false_is_soft_not_hard() -> None:
    soft = parse_sample(PROVIDER, "variant_preblocked_and_contact").events[1]
    assert soft.bounce_class is BounceClass.SOFT
    hard = parse_sample(PROVIDER, "bounce_event").events[0]
    assert hard.bounce_class is BounceClass.HARD


def test_payload_json_fills_the_contact_and_text_payload_is_kept_raw() -> None:
    blocked, bounced = parse_sample(PROVIDER, "variant_preblocked_and_contact").events
    assert (blocked.qj_contact_id, blocked.creditor_name) == (4711, "ACME")
    assert bounced.qj_contact_id is None
    assert (bounced.callback_data, bounced.callback_data_raw) == (None, "not json")
    sent = parse_sample(PROVIDER, "sent_event").events[0]
    assert sent.callback_data == {"meta1": "simple string", "meta2": 2}
    assert parse_sample(PROVIDER, "open_event").events[0].callback_data_raw is None


def test_keys_are_stable_and_distinct_across_samples() -> None:
    names = [n for n in EXPECTED if n != "non_grouped_event"]
    keys = [e.event_key for n in names for e in parse_sample(PROVIDER, n).events]
    again = [e.event_key for n in names for e in parse_sample(PROVIDER, n).events]
    assert keys == again
    assert len(set(keys)) == len(keys)


def test_a_click_url_is_kept_and_tells_two_clicks_apart() -> None:
    base = {"event": "click", "time": 1498093527, "MessageID": 1, "email": "a@example.com"}
    body = [{**base, "url": "https://a.example"}, {**base, "url": "https://b.example"}]
    first, second = PROVIDER.parse(StoredRequest(json.dumps(body).encode())).events
    assert (first.event_type, first.url) == (EventType.CLICKED, "https://a.example")
    assert first.event_key != second.event_key


def test_zero_events_and_bad_items() -> None:
    assert PROVIDER.parse(StoredRequest(b"[]")).events == []
    parsed = PROVIDER.parse(StoredRequest(b'[{"event":"open","email":"a@b.c"},7,{"x":1}]'))
    assert len(parsed.events) == 1
    assert [item.index for item in parsed.rejected] == [1, 2]


def test_an_unknown_event_is_kept_raw_as_unknown() -> None:
    event = PROVIDER.parse(StoredRequest(b'{"event":"new_thing","email":"a@b.c"}')).events[0]
    assert (event.event_type, event.raw) == (
        EventType.UNKNOWN,
        {"event": "new_thing", "email": "a@b.c"},
    )


@pytest.mark.parametrize("body", [b"nope", b'{"no":"event"}', b"42"])
def test_a_body_that_is_not_mailjets_is_unreadable(body: bytes) -> None:
    with pytest.raises(UnreadableBodyError):
        PROVIDER.parse(StoredRequest(body))


def test_one_event_sent_twice_in_a_batch_is_one_event() -> None:
    item = {"event": "open", "time": 1498093527, "MessageID": 1, "email": "a@example.com"}
    parsed = PROVIDER.parse(StoredRequest(json.dumps([item, item]).encode()))
    assert len(parsed.events) == 1
