"""Resend: anymail's sample events mapped field by field; Svix signatures with test secrets."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from emailhook.domain.events import EmailEvent, EventKind, Shape
from emailhook.domain.vocabulary import ALREADY_SUPPRESSED, BounceClass, EventType, RejectReason
from emailhook.providers.base import (
    AuthenticationError,
    StoredRequest,
    UnreadableBodyError,
    WebhookRequest,
)
from emailhook.providers.resend.webhook import Resend
from support.signing import sample_bytes, svix_headers, svix_secret

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SVIX_ID = "msg_2W2D3qXLS5fOaPja1GDg7rF2CwB"


def parse_body(body: bytes, svix_id: str | None = SVIX_ID) -> list[EmailEvent]:
    headers = {"svix-id": svix_id} if svix_id else {}
    parsed = Resend({}).parse(StoredRequest(body, "application/json", headers))
    assert parsed.shape is Shape.PROVIDER
    return parsed.events


def parse(name: str) -> list[EmailEvent]:
    return parse_body(sample_bytes("resend", name))


def test_sent_to_two_addresses_is_two_events() -> None:
    events = parse("sent_event")
    assert [event.email for event in events] == ["to@example.org", "to2@example.org"]
    for event in events:
        assert event.provider == "resend"
        assert event.event_type is EventType.SENT
        assert event.kind is EventKind.DELIVERY_REPORT
        assert event.status == "email.sent"
        assert event.message_id == "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
        assert event.provider_event_id == SVIX_ID
        assert event.event_at == datetime(2023, 9, 28, 17, 19, 43, 736000, tzinfo=UTC)
        assert event.sent_at == datetime(2023, 9, 28, 17, 19, 43, 982000, tzinfo=UTC)
        assert event.callback_data == {"tag1": "Tag_1_value", "tag2": "Tag_2_value"}
    assert events[0].event_key != events[1].event_key


def test_tags_give_the_contact() -> None:
    (event,) = parse("variant_delivered_tags")
    assert event.event_type is EventType.DELIVERED
    assert event.qj_contact_id == 4711
    assert event.campaign == "spring"


def test_hard_bounce_in_words_is_hard() -> None:
    (event,) = parse("hard_bounced_event")
    assert event.event_type is EventType.BOUNCED
    assert event.bounce_class is BounceClass.HARD
    assert event.email == "bounced@resend.dev"
    assert event.error_description.startswith("The recipient's email provider sent a hard")  # type: ignore[union-attr]


def test_transient_bounce_is_soft() -> None:
    (event,) = parse("variant_bounce_transient")
    assert event.event_type is EventType.BOUNCED
    assert event.bounce_class is BounceClass.SOFT


@pytest.mark.parametrize("name", ["suppressed_event", "variant_bounce_suppressed_subtype"])
def test_suppressed_sending_is_a_rejection_not_a_new_bounce(name: str) -> None:
    (event,) = parse(name)
    assert event.event_type is EventType.REJECTED
    assert event.reject_reason is RejectReason.BOUNCED
    assert event.reject_reason in ALREADY_SUPPRESSED


@pytest.mark.parametrize(
    ("name", "event_type"),
    [
        ("delivered_event", EventType.DELIVERED),
        ("delivery_delayed_event", EventType.DEFERRED),
        ("complained_event", EventType.COMPLAINED),
        ("opened_event", EventType.OPENED),
        ("clicked_event", EventType.CLICKED),
    ],
)
def test_event_types(name: str, event_type: EventType) -> None:
    (event,) = parse(name)
    assert event.event_type is event_type
    assert event.bounce_class is None


def test_click_has_the_link() -> None:
    (event,) = parse("clicked_event")
    assert event.url == "https://example.com/test"
    assert event.kind is EventKind.TRACKING


def test_keys_come_from_svix_id_recipient_and_type() -> None:
    assert parse("opened_event")[0].event_key == parse("opened_event")[0].event_key
    body = sample_bytes("resend", "opened_event")
    assert parse_body(body, "msg_other")[0].event_key != parse_body(body)[0].event_key
    # without the header (an old inbox row) the key is a digest of the event itself
    assert parse_body(body, None)[0].event_key == parse_body(body, None)[0].event_key


def test_unknown_types_are_unknown_and_kept_raw() -> None:
    body = {"type": "contact.created", "created_at": "2024-01-01T00:00:00Z", "data": {}}
    (event,) = parse_body(json.dumps(body).encode())
    assert event.event_type is EventType.UNKNOWN
    assert event.email is None
    assert event.raw == body


@pytest.mark.parametrize("body", [b"nope", b"[]", b'{"data": {}}'])
def test_bodies_that_are_not_resend_events_are_unreadable(body: bytes) -> None:
    with pytest.raises(UnreadableBodyError):
        Resend({}).parse(StoredRequest(body))


def test_several_signatures_in_the_header_any_one_may_match() -> None:
    secret = svix_secret(b"current-key-bytes")
    provider = Resend({"signing_secrets": (secret,)})
    body = b'{"type":"email.sent","data":{}}'
    headers = svix_headers(secret, "msg_1", int(NOW.timestamp()), body)
    headers["svix-signature"] = "v1,AAAA v2,BBBB " + headers["svix-signature"]
    provider.authenticate(WebhookRequest(body, headers, "application/json", "http://x/"), NOW)


def test_a_signature_of_another_id_fails() -> None:
    secret = svix_secret(b"current-key-bytes")
    provider = Resend({"signing_secrets": (secret,)})
    body = b"{}"
    headers = svix_headers(secret, "msg_1", int(NOW.timestamp()), body)
    headers["svix-id"] = "msg_2"
    with pytest.raises(AuthenticationError):
        provider.authenticate(WebhookRequest(body, headers, "application/json", "http://x/"), NOW)


def test_a_secret_without_base64_is_refused_at_setup() -> None:
    with pytest.raises(ValueError, match="whsec_"):
        Resend({"signing_secrets": ("whsec_not base64!",)})
