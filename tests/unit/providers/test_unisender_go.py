"""Unisender Go: every saved sample normalized field by field, batches and single events,
delivery_status deciding hard or soft and drops of listed addresses, and the ``auth`` field
computed on the raw bytes whatever the JSON layout."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from emailhook.domain.vocabulary import ALREADY_SUPPRESSED, BounceClass, EventType, RejectReason
from emailhook.providers.base import AuthenticationError, StoredRequest, UnreadableBodyError
from emailhook.providers.unisender_go.webhook import UnisenderGo
from support.signing import (
    assert_fields,
    json_request,
    parse_sample,
    provider_values,
    sample,
    sample_names,
    unisender_signed,
)

API_KEY = "TEST_API_KEY"
PROVIDER = UnisenderGo(provider_values(UnisenderGo, api_keys=[API_KEY]))
E, B, R = EventType, BounceClass, RejectReason
NOW = datetime(2026, 12, 1, tzinfo=UTC)
JOB = "1smi9f-00057m-86zr"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


#: sample -> per event: event_type, bounce_class, reject_reason, status, email, message_id,
#: event_at
EXPECTED: dict[str, list[tuple[object, ...]]] = {
    "sent_event": [(E.SENT, None, None, "sent", "recipient@example.com", JOB,
                    at("2024-09-06 23:14:19"))],
    "delivered_event": [(E.DELIVERED, None, None, "delivered", "recipient@example.com", JOB,
                         at("2024-09-06 23:14:24"))],
    "hard_bounced_event": [(E.BOUNCED, B.HARD, R.BOUNCED, "hard_bounced", "bounce@example.com",
                            None, at("2024-09-06 23:22:40"))],
    "soft_bounced_event": [(E.DEFERRED, B.SOFT, None, "soft_bounced", "full@example.com", None,
                            at("2024-09-06 23:22:40"))],
    "spam_event": [(E.COMPLAINED, None, None, "spam", "to@example.com", None, None)],
    "unsubscribed_event": [(E.UNSUBSCRIBED, None, None, "unsubscribed", "to@example.com", None,
                            None)],
    "opened_event": [(E.OPENED, None, None, "opened", "to@example.com", None, None)],
    "clicked_event": [(E.CLICKED, None, None, "clicked", "to@example.com", None, None)],
    "multiple_event_option": [
        (E.SENT, None, None, "sent", "to@example.com", "1sn15Z-0007Le-GtVN",
         at("2024-09-07 19:27:17")),
        (E.DELIVERED, None, None, "delivered", "cc@example.com", "1sn15Z-0007Le-GtVN",
         at("2024-09-07 19:27:17")),
    ],
    "variant_suppressed_and_contact": [
        (E.REJECTED, B.HARD, R.UNSUBSCRIBED, "hard_bounced", "unsub@example.com",
         "1a3Q2V-0000OZ-S0", at("2024-09-07 19:27:17")),
        (E.DEFERRED, B.SOFT, None, "soft_bounced", "retry@example.com", "1a3Q2V-0000OZ-S0",
         at("2024-09-07 19:27:18")),
    ],
}  # fmt: skip
FIELDS = ("event_type", "bounce_class", "reject_reason", "status", "email", "message_id",
          "event_at")  # fmt: skip


def test_every_saved_sample_has_expectations() -> None:
    assert sorted(EXPECTED) == sample_names("unisender_go")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_sample_normalizes_to_its_fields(name: str) -> None:
    parsed = parse_sample(PROVIDER, name)
    assert len(parsed.events) == len(EXPECTED[name])
    for event, row in zip(parsed.events, EXPECTED[name], strict=True):
        assert_fields(event, {"provider": "unisender_go", **dict(zip(FIELDS, row, strict=True))})
        assert event.raw["status"] == event.status


def test_a_drop_of_an_unsubscribed_address_is_already_suppressed() -> None:
    dropped = parse_sample(PROVIDER, "variant_suppressed_and_contact").events[0]
    assert dropped.reject_reason in ALREADY_SUPPRESSED
    assert (dropped.qj_contact_id, dropped.creditor_id) == (4711, "13")
    hard = parse_sample(PROVIDER, "hard_bounced_event").events[0]
    assert hard.event_type is EventType.BOUNCED  # a new bounce, not a drop


def test_a_temporary_error_is_soft_and_the_spam_block_event_is_not_an_email_event() -> None:
    parsed = parse_sample(PROVIDER, "variant_suppressed_and_contact")
    assert parsed.events[1].bounce_class is BounceClass.SOFT
    assert parsed.events[1].error_description == "421 try later"
    assert [item.index for item in parsed.rejected] == [3]


def test_metadata_and_descriptions_are_read() -> None:
    sent = parse_sample(PROVIDER, "sent_event").events[0]
    assert sent.callback_data == {
        "anymail_id": "00001111-2222-3333-4444-555566667777",
        "cohort": "group a121",
    }
    hard = parse_sample(PROVIDER, "hard_bounced_event").events[0]
    assert hard.status_description == "err_user_unknown"
    assert hard.error_description == "555 5.7.1 User unknown 'bounce@example.com'."
    assert parse_sample(PROVIDER, "clicked_event").events[0].url == "https://example.com"


def test_keys_are_stable_and_distinct_across_events() -> None:
    names = sorted(EXPECTED)
    keys = [e.event_key for n in names for e in parse_sample(PROVIDER, n).events]
    assert keys == [e.event_key for n in names for e in parse_sample(PROVIDER, n).events]
    assert len(set(keys)) == len(keys)


def test_zero_events_and_unreadable_bodies() -> None:
    empty = PROVIDER.parse(StoredRequest(b'{"auth":"x","events_by_user":[{"events":[]}]}'))
    assert (empty.events, empty.rejected) == ([], [])
    other = PROVIDER.parse(StoredRequest(b'{"event_name":"transactional_spam_block"}'))
    assert other.events == []
    for body in (b"nope", b"[]", b'{"auth": "x"}', b'{"events_by_user": {}}'):
        with pytest.raises(UnreadableBodyError):
            PROVIDER.parse(StoredRequest(body))


@pytest.mark.parametrize(
    "layout",
    [{}, {"separators": (",", ":")}, {"ensure_ascii": False}, {"indent": 2, "sort_keys": True}],
)
def test_auth_is_checked_on_the_raw_bytes_whatever_the_json_layout(layout: object) -> None:
    data = sample("unisender_go", "multiple_event_option")
    data["events_by_user"][0]["events"][0]["event_data"]["metadata"] = {"note": "Метаданные"}
    body = unisender_signed(data, API_KEY, **layout)  # type: ignore[arg-type]
    PROVIDER.authenticate(json_request(body), NOW)
    with pytest.raises(AuthenticationError):
        UnisenderGo(provider_values(UnisenderGo, api_keys=["other"])).authenticate(
            json_request(body), NOW
        )


def test_a_body_without_auth_is_refused() -> None:
    body = json.dumps(sample("unisender_go", "sent_event")).encode()
    with pytest.raises(AuthenticationError):
        PROVIDER.authenticate(json_request(body), NOW)
    with pytest.raises(AuthenticationError):
        PROVIDER.authenticate(json_request(b"not json"), NOW)


def test_a_get_request_is_the_setup_check() -> None:
    assert UnisenderGo.check_methods == frozenset({"GET"})
