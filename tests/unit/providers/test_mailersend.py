"""MailerSend: every saved sample normalized field by field, hard/soft from its activity
names, data.id as the key, and the signature over the raw body (with its ``\\/`` escapes)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

from emailhook.domain.vocabulary import BounceClass, EventType, RejectReason
from emailhook.providers.base import AuthenticationError, StoredRequest, UnreadableBodyError
from emailhook.providers.mailersend.webhook import MailerSend
from support.signing import (
    assert_fields,
    json_request,
    parse_sample,
    provider_values,
    sample,
    sample_names,
    with_header,
)

SECRET = "ms-signing-secret"
PROVIDER = MailerSend(provider_values(MailerSend, signing_secrets=[SECRET]))
E, B, R = EventType, BounceClass, RejectReason
NOW = datetime(2026, 12, 1, tzinfo=UTC)
MID = "63fd1c1d5f010335ed07066b"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


#: sample -> event_type, bounce_class, reject_reason, status, email, message_id, event_at,
#: provider_event_id
EXPECTED: dict[str, tuple[object, ...]] = {
    "sent_event": (E.SENT, None, None, "sent", "recipient@example.com", MID,
                   at("2023-02-27T21:09:49.506+00:00"), "63fd1c1d31b9c750540fe85c"),
    "delivered_event": (E.DELIVERED, None, None, "delivered", "recipient@example.com", MID,
                        at("2023-02-27T21:09:51.865+00:00"), "63fd1c1fcfbe46145d003a7b"),
    "hard_bounced_event": (E.BOUNCED, B.HARD, R.BOUNCED, "hard_bounced", "invalid@example.com",
                           "63fd25194d5edba3da09e044", at("2023-02-27T21:48:13.593+00:00"),
                           "63fd251d5c00f8e52001fce6"),
    "soft_bounced_event": (E.BOUNCED, B.SOFT, R.BOUNCED, "soft_bounced", "notauser@example.com",
                           "62fb66bef54a112e920b5493", at("2022-08-08T13:51:52.747+00:00"),
                           "62f114f8165fe0d8db0288e5"),
    "opened_event": (E.OPENED, None, None, "opened", "recipient@example.com", MID,
                     at("2023-02-27T21:17:57.025+00:00"), "63fd1e05532bd6cc700a793b"),
    "clicked_event": (E.CLICKED, None, None, "clicked", "recipient@example.com", MID,
                      at("2023-02-27T21:14:11.691+00:00"), "63fd1d23afa3c770b00da7d3"),
    "unsubscribed_event": (E.UNSUBSCRIBED, None, None, "unsubscribed", "recipient@example.com",
                           MID, at("2023-02-27T21:33:54.791+00:00"), "63fd21c23f2bdd360e07d6b2"),
    "spam_complaint_event": (E.COMPLAINED, None, None, "spam_complaint",
                             "recipient@example.com", "62fb66bef54a112e920b5493",
                             at("2022-08-08T13:51:52.747+00:00"), "62f114f8165fe0d8db0288e5"),
}  # fmt: skip
FIELDS = ("event_type", "bounce_class", "reject_reason", "status", "email", "message_id",
          "event_at", "provider_event_id")  # fmt: skip


def test_every_saved_sample_has_expectations() -> None:
    assert sorted(EXPECTED) == sample_names("mailersend")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_sample_normalizes_to_its_one_event(name: str) -> None:
    (event,) = parse_sample(PROVIDER, name).events
    assert_fields(
        event, {"provider": "mailersend", **dict(zip(FIELDS, EXPECTED[name], strict=True))}
    )
    assert event.raw["type"] == event.status


def test_a_soft_bounce_is_not_hard() -> None:
    soft = parse_sample(PROVIDER, "soft_bounced_event").events[0]
    assert soft.bounce_class is BounceClass.SOFT
    assert soft.error_description == "Unknown reason"


def test_the_activity_id_is_the_key() -> None:
    keys = {parse_sample(PROVIDER, n).events[0].event_key for n in EXPECTED}
    # soft_bounced and spam_complaint samples share one data.id (anymail copied one into
    # the other): seven distinct ids among eight samples
    assert len(keys) == 7
    assert parse_sample(PROVIDER, "sent_event").events[0].event_key == (
        parse_sample(PROVIDER, "sent_event").events[0].event_key
    )


def test_tags_become_callback_data_and_click_url_is_read() -> None:
    sent = parse_sample(PROVIDER, "sent_event").events[0]
    assert sent.callback_data == {"tags": ["tag1", "Tag 2"]}
    assert sent.sent_at == at("2023-02-27T21:09:49.141+00:00")
    assert parse_sample(PROVIDER, "clicked_event").events[0].url == "https://example.com/test"


def test_the_signature_covers_the_raw_bytes_with_escaped_slashes() -> None:
    body = json.dumps(sample("mailersend", "clicked_event")).replace("/", "\\/").encode()
    assert b"https:\\/\\/" in body
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    request = with_header(json_request(body), "signature", signature)
    PROVIDER.authenticate(request, NOW)
    assert PROVIDER.parse(request.stored(())).events[0].url == "https://example.com/test"
    reencoded = json.dumps(json.loads(body)).encode()  # same JSON, other bytes
    with pytest.raises(AuthenticationError):
        PROVIDER.authenticate(with_header(json_request(reencoded), "signature", signature), NOW)


def test_an_unknown_activity_is_kept_raw_as_unknown() -> None:
    body = {"type": "activity.opened_unique", "data": {"id": "x1", "type": "opened_unique"}}
    event = PROVIDER.parse(StoredRequest(json.dumps(body).encode())).events[0]
    assert (event.event_type, event.raw) == (EventType.UNKNOWN, body["data"])


@pytest.mark.parametrize(
    "body",
    [b"nope", b"[]", b'{"type": "activity.sent"}', b'{"type": "inbound.message", "data": {}}'],
)
def test_a_body_that_is_not_a_mailersend_activity_is_unreadable(body: bytes) -> None:
    with pytest.raises(UnreadableBodyError):
        PROVIDER.parse(StoredRequest(body))
