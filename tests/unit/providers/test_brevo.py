"""Brevo: every saved sample normalized field by field, ts_epoch as the only UTC time,
batched mode, hard/soft from event names, blocked drops of listed addresses, both credentials."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from emailhook.domain.vocabulary import ALREADY_SUPPRESSED, BounceClass, EventType, RejectReason
from emailhook.providers.base import AuthenticationError, StoredRequest, UnreadableBodyError
from emailhook.providers.brevo.webhook import Brevo
from support.signing import (
    assert_fields,
    basic,
    json_request,
    parse_sample,
    provider_values,
    sample_names,
    with_header,
)

PROVIDER = Brevo(provider_values(Brevo, basic_auth=["hook:s3cret"], bearer_tokens=["tok"]))
E, B, R = EventType, BounceClass, RejectReason
TS = datetime(2018, 3, 6, 19, 10, 23, tzinfo=UTC)  # ts_epoch 1520363423000
MID = "<201803011158.9876543210@smtp-relay.mailin.fr>"
DOC_MID = "201798300811.5787683@relay.domain.com"

#: sample -> per event: event_type, bounce_class, reject_reason, status, email, message_id,
#: event_at
EXPECTED: dict[str, list[tuple[object, ...]]] = {
    "sent_event": [
        (
            E.QUEUED,
            None,
            None,
            "request",
            "recipient@example.com",
            "<201803062010.27287306012@smtp-relay.mailin.fr>",
            TS,
        ),
    ],
    "delivered_event": [(E.DELIVERED, None, None, "delivered", "recipient@example.com", MID, TS)],
    "hard_bounce": [
        (E.BOUNCED, B.HARD, R.BOUNCED, "hard_bounce", "not-a-user@example.com", MID, TS)
    ],
    "soft_bounce_event": [
        (E.BOUNCED, B.SOFT, R.BOUNCED, "soft_bounce", "recipient@no-mx.example.com", MID, TS)
    ],
    "invalid_email": [
        (E.BOUNCED, B.HARD, R.INVALID, "invalid_email", "recipient@example.com", MID, TS)
    ],
    "blocked": [(E.REJECTED, None, R.BOUNCED, "blocked", "recipient@example.com", MID, TS)],
    "deferred_event": [(E.DEFERRED, B.SOFT, None, "deferred", "notauser@example.com", MID, TS)],
    "spam": [(E.COMPLAINED, None, None, "spam", "recipient@example.com", MID, TS)],
    # Brevo's doc sample: no ts_epoch in milliseconds, only the account-zone ts
    "complaint": [(E.COMPLAINED, None, None, "complaint", "example@domain.com", DOC_MID, None)],
    # Brevo's doc sample writes ts_epoch in seconds (1604933623)
    "error_email": [
        (
            E.FAILED,
            None,
            None,
            "error",
            "example@domain.com",
            DOC_MID,
            datetime(2020, 11, 9, 14, 53, 43, tzinfo=UTC),
        ),
    ],
    "opened_event": [(E.OPENED, None, None, "opened", "recipient@example.com", MID, TS)],
    "unique_opened_event": [
        (E.OPENED, None, None, "unique_opened", "recipient@example.com", MID, TS)
    ],
    "proxy_open_event": [(E.OPENED, None, None, "proxy_open", "example@domain.com", DOC_MID, None)],
    "unique_proxy_open_event": [
        (E.OPENED, None, None, "unique_proxy_open", "example@domain.com", DOC_MID, None)
    ],
    "clicked_event": [(E.CLICKED, None, None, "click", "recipient@example.com", MID, TS)],
    "unsubscribe": [(E.UNSUBSCRIBED, None, None, "unsubscribe", "recipient@example.com", MID, TS)],
    "variant_batch": [
        (E.DELIVERED, None, None, "delivered", "recipient@example.com", MID, TS),
        (
            E.REJECTED,
            None,
            R.UNSUBSCRIBED,
            "blocked",
            "unsub@example.com",
            "<201803011158.9876543211@smtp-relay.mailin.fr>",
            datetime(2018, 3, 6, 19, 10, 24, tzinfo=UTC),
        ),
    ],
}
FIELDS = ("event_type", "bounce_class", "reject_reason", "status", "email", "message_id",
          "event_at")  # fmt: skip


def test_every_saved_sample_has_expectations() -> None:
    assert sorted(EXPECTED) == sample_names("brevo")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_sample_normalizes_to_its_fields(name: str) -> None:
    parsed = parse_sample(PROVIDER, name)
    assert len(parsed.events) == len(EXPECTED[name])
    for event, row in zip(parsed.events, EXPECTED[name], strict=True):
        assert_fields(event, {"provider": "brevo", **dict(zip(FIELDS, row, strict=True))})
        assert event.provider_event_id is None  # Brevo's "id" is the webhook's, not the event's


def test_ts_epoch_wins_over_the_account_zone_ts_and_date() -> None:
    delivered = parse_sample(PROVIDER, "variant_batch").events[0]
    # ts 1520363423 and date 20:10:23 are the account's zone (UTC+1 here): an hour off
    assert delivered.event_at == TS


def test_a_batch_keeps_good_items_and_rejects_the_bad_one() -> None:
    parsed = parse_sample(PROVIDER, "variant_batch")
    assert [item.index for item in parsed.rejected] == [2]
    assert parsed.events[0].qj_contact_id == 4711
    assert parsed.events[0].campaign == "spring"


def test_x_mailin_custom_fills_callback_data() -> None:
    sent = parse_sample(PROVIDER, "sent_event").events[0]
    assert sent.callback_data == {"meta": "data"}
    assert sent.callback_data_raw == '{"meta": "data"}'


def test_soft_bounce_is_not_hard() -> None:
    assert parse_sample(PROVIDER, "soft_bounce_event").events[0].bounce_class is BounceClass.SOFT


def test_blocked_for_a_listed_address_is_already_suppressed_a_bare_block_is_not() -> None:
    for name, index in (("blocked", 0), ("variant_batch", 1)):
        event = parse_sample(PROVIDER, name).events[index]
        assert event.event_type is EventType.REJECTED
        assert event.reject_reason in ALREADY_SUPPRESSED
    bare = PROVIDER.parse(StoredRequest(b'{"event":"blocked","email":"a@b.c"}')).events[0]
    assert bare.reject_reason is RejectReason.BLOCKED


def test_keys_are_stable_and_distinct_across_samples() -> None:
    names = [n for n in EXPECTED if n not in ("delivered_event",)]  # = variant_batch[0]
    keys = [e.event_key for n in names for e in parse_sample(PROVIDER, n).events]
    assert keys == [e.event_key for n in names for e in parse_sample(PROVIDER, n).events]
    assert len(set(keys)) == len(keys)


def test_zero_events_and_unreadable_bodies() -> None:
    assert PROVIDER.parse(StoredRequest(b"[]")).events == []
    for body in (b"nope", b'{"items": []}', b"3"):
        with pytest.raises(UnreadableBodyError):
            PROVIDER.parse(StoredRequest(body))


def test_a_bearer_token_or_basic_pair_passes_and_a_mixed_up_one_does_not() -> None:
    request = json_request(b"{}")
    now = datetime(2026, 12, 1, tzinfo=UTC)
    PROVIDER.authenticate(with_header(request, "authorization", "Bearer tok"), now)
    PROVIDER.authenticate(with_header(request, "authorization", basic("hook:s3cret")), now)
    for wrong in ("Bearer hook:s3cret", basic("tok"), "Token tok", "Bearer "):
        with pytest.raises(AuthenticationError):
            PROVIDER.authenticate(with_header(request, "authorization", wrong), now)
    assert Brevo.enabled_by == ("basic_auth", "bearer_tokens")
