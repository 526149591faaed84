"""Mailgun: anymail's JSON and legacy form samples mapped field by field; signatures, the
freshness window and the token replay cache."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from emailhook.domain.events import EmailEvent, EventKind, Shape
from emailhook.domain.vocabulary import ALREADY_SUPPRESSED, BounceClass, EventType, RejectReason
from emailhook.providers.base import (
    AuthenticationError,
    StoredRequest,
    UnreadableBodyError,
    WebhookRequest,
)
from emailhook.providers.mailgun.webhook import Mailgun
from support.signing import mailgun_signature, multipart, sample, urlencoded

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
KEY = "key-test-signing-0123456789"


def parse(name: str) -> EmailEvent:
    body = json.dumps(sample("mailgun", name)).encode()
    parsed = Mailgun({}).parse(StoredRequest(body, "application/json"))
    assert parsed.shape is Shape.PROVIDER
    (event,) = parsed.events
    return event


def parse_form(name: str, encoding: str = "urlencoded") -> EmailEvent:
    fields = sample("mailgun", name)
    if encoding == "urlencoded":
        body, content_type = urlencoded(fields), "application/x-www-form-urlencoded"
    else:
        body, content_type = multipart(fields)
    (event,) = Mailgun({}).parse(StoredRequest(body, content_type)).events
    return event


def test_delivered_event() -> None:
    event = parse("delivered_event")
    assert event.provider == "mailgun"
    assert event.event_type is EventType.DELIVERED
    assert event.kind is EventKind.DELIVERY_REPORT
    assert event.status == "delivered"
    assert event.email == "recipient@example.com"
    assert event.message_id == "<20180812211713.1.DF5966851B4BAA99@example.org>"
    assert event.provider_event_id == "hTWCTD81RtiDN-..."
    assert event.event_at == datetime(2018, 8, 12, 21, 17, 17, 153125, tzinfo=UTC)
    assert event.bounce_class is None
    assert event.qj_contact_id is None


def test_permanent_failure_is_a_hard_bounce() -> None:
    event = parse("failed_permanent_event")
    assert event.event_type is EventType.BOUNCED
    assert event.bounce_class is BounceClass.HARD
    assert event.email == "invalid@example.com"
    assert event.error_description.startswith("5.1.1 The email account")  # type: ignore[union-attr]


@pytest.mark.parametrize("name", ["failed_temporary_event", "failed_greylisted_event"])
def test_temporary_failure_is_deferred_and_soft(name: str) -> None:
    event = parse(name)
    assert event.event_type is EventType.DEFERRED
    assert event.bounce_class is BounceClass.SOFT


def test_failure_of_a_suppressed_address_is_a_rejection_not_a_bounce() -> None:
    event = parse("variant_failed_suppress_bounce")
    assert event.event_type is EventType.REJECTED
    assert event.reject_reason is RejectReason.BOUNCED
    assert event.bounce_class is None


def test_rejected_names_the_recipient_from_the_to_header() -> None:
    event = parse("rejected_event")
    assert event.event_type is EventType.REJECTED
    assert event.reject_reason is RejectReason.OTHER
    assert event.email == "recipient@example.org"
    assert event.status_description == "Sandbox subdomains are for test purposes only."


@pytest.mark.parametrize(
    ("name", "event_type"),
    [
        ("complained_event", EventType.COMPLAINED),
        ("unsubscribed_event", EventType.UNSUBSCRIBED),
        ("opened_event", EventType.OPENED),
        ("clicked_event", EventType.CLICKED),
        ("delivery_status_is_none_event", EventType.QUEUED),  # "delivery-status": null
    ],
)
def test_event_types(name: str, event_type: EventType) -> None:
    assert parse(name).event_type is event_type


def test_user_variables_are_the_metadata() -> None:
    assert parse("opened_event").callback_data == {"cohort": "2018-08-B", "user_id": "123456"}
    event = parse("variant_opened_with_id_and_contact")
    assert event.qj_contact_id == 4711
    assert event.creditor_id == "13"
    assert parse("clicked_event").url == "https://example.com/test"


def test_keys_are_stable_and_distinct() -> None:
    assert parse("opened_event").event_key == parse("opened_event").event_key
    names = ["delivered_event", "failed_permanent_event", "opened_event", "clicked_event"]
    assert len({parse(name).event_key for name in names}) == len(names)


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_legacy_forms_in_both_encodings(encoding: str) -> None:
    event = parse_form("legacy_delivered_event", encoding)
    assert event.event_type is EventType.DELIVERED
    assert event.email == "recipient@example.com"
    assert event.message_id == "<20160421175529.19495.89030.B3AE3728@example.com>"
    assert event.event_at == datetime(2016, 4, 21, 17, 55, 30, tzinfo=UTC)
    assert event.callback_data == {}  # read from message-headers: no X-Mailgun-Variables


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("legacy_dropped_bounce", RejectReason.BOUNCED),
        ("legacy_dropped_spam", RejectReason.SPAM),
        ("legacy_dropped_timed_out", RejectReason.TIMED_OUT),
    ],
)
def test_legacy_drops(name: str, reason: RejectReason) -> None:
    event = parse_form(name)
    assert event.event_type is EventType.REJECTED
    assert event.reject_reason is reason


def test_legacy_605_and_607_are_already_suppressed() -> None:
    for name in ("legacy_dropped_bounce", "legacy_dropped_spam"):
        assert parse_form(name, "multipart").reject_reason in ALREADY_SUPPRESSED


@pytest.mark.parametrize("name", ["legacy_invalid_mailbox", "legacy_alt_smtp_code"])
def test_legacy_5xx_bounces_are_hard(name: str) -> None:
    event = parse_form(name)
    assert event.event_type is EventType.BOUNCED
    assert event.bounce_class is BounceClass.HARD


def test_legacy_user_variables() -> None:
    headers = parse_form("legacy_metadata_message_headers")
    assert headers.callback_data == {"custom1": "value1", "custom2": '{"key":"value"}'}
    fields = parse_form("legacy_metadata_post_fields", "multipart")
    assert fields.callback_data == {"custom1": "value1", "custom2": '{"key":"value"}'}


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"not json", "application/json"),
        (b'{"signature": {}}', "application/json"),
        (b"recipient=a%40b&sender=c%40d", "application/x-www-form-urlencoded"),
        (b"<xml/>", "text/xml"),
    ],
)
def test_bodies_that_are_not_mailgun_events_are_unreadable(body: bytes, content_type: str) -> None:
    with pytest.raises(UnreadableBodyError):
        Mailgun({}).parse(StoredRequest(body, content_type))


def test_the_legacy_inbound_form_is_unreadable_here() -> None:
    with pytest.raises(UnreadableBodyError):
        parse_form("legacy_misconfigured_inbound")


def signed_json(name: str, at: datetime, token: str) -> WebhookRequest:
    body: dict[str, Any] = sample("mailgun", name)
    body["signature"] = mailgun_signature(KEY, str(int(at.timestamp())), token)
    return WebhookRequest(json.dumps(body).encode(), {}, "application/json", "http://x/")


def test_a_token_is_taken_with_one_body_only_within_the_window() -> None:
    # The signature does not cover the body: a captured token with another body is a replay.
    provider = Mailgun({"signing_keys": (KEY,)})
    provider.authenticate(signed_json("opened_event", NOW, "token-a"), NOW)
    with pytest.raises(AuthenticationError, match="replayed"):
        provider.authenticate(signed_json("clicked_event", NOW, "token-a"), NOW)
    provider.authenticate(signed_json("opened_event", NOW, "token-b"), NOW)


def test_mailgun_retrying_the_same_request_is_let_in() -> None:
    # Mailgun retries a request that was not answered 2xx (a 503 while the disk was full):
    # refusing the retry would lose events never accepted; the event key stores them once.
    provider = Mailgun({"signing_keys": (KEY,)})
    request = signed_json("opened_event", NOW, "token-r")
    provider.authenticate(request, NOW)
    provider.authenticate(request, NOW + timedelta(seconds=30))


def test_a_forged_signature_does_not_burn_the_token() -> None:
    provider = Mailgun({"signing_keys": (KEY,)})
    forged = signed_json("opened_event", NOW, "token-c")
    forged_body = json.loads(forged.body)
    forged_body["signature"]["signature"] = "0" * 64
    with pytest.raises(AuthenticationError):
        provider.authenticate(
            WebhookRequest(json.dumps(forged_body).encode(), {}, "application/json", "x"), NOW
        )
    provider.authenticate(signed_json("opened_event", NOW, "token-c"), NOW)


def test_a_token_is_remembered_for_both_sides_of_the_window_then_forgotten() -> None:
    provider = Mailgun({"signing_keys": (KEY,), "max_age_seconds": 60.0})
    ahead = NOW + timedelta(seconds=60)  # a sender clock a full window ahead: still fresh
    provider.authenticate(signed_json("opened_event", ahead, "token-d"), NOW)
    # at NOW + 119 s the same timestamp is still fresh, so the token must still be known
    almost = NOW + timedelta(seconds=119)
    with pytest.raises(AuthenticationError, match="replayed"):
        provider.authenticate(signed_json("clicked_event", ahead, "token-d"), almost)
    later = NOW + timedelta(seconds=180)
    provider.authenticate(signed_json("opened_event", later, "token-d"), later)


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_legacy_forms_are_signed_by_their_fields(encoding: str) -> None:
    fields = dict(sample("mailgun", "legacy_delivered_event"))
    fields.update(mailgun_signature(KEY, str(int(NOW.timestamp())), f"legacy-{encoding}"))
    if encoding == "urlencoded":
        body, content_type = urlencoded(fields), "application/x-www-form-urlencoded"
    else:
        body, content_type = multipart(fields)
    provider = Mailgun({"signing_keys": (KEY,)})
    provider.authenticate(WebhookRequest(body, {}, content_type, "http://x/"), NOW)
    fields["recipient"] = "someone-else@example.com"  # the body is not signed, the fields are
    fields["signature"] = "f" * 64
    tampered = urlencoded(fields)
    with pytest.raises(AuthenticationError):
        provider.authenticate(
            WebhookRequest(tampered, {}, "application/x-www-form-urlencoded", "x"), NOW
        )


@pytest.mark.parametrize(
    ("reason", "bounce_class"),
    [("old", BounceClass.SOFT), ("espblock", BounceClass.BLOCK), ("bounce", BounceClass.HARD)],
)
def test_a_permanent_failure_reads_its_class_from_the_reason(
    reason: str, bounce_class: BounceClass
) -> None:
    body = sample("mailgun", "failed_permanent_event")
    body["event-data"]["reason"] = reason
    (event,) = (
        Mailgun({}).parse(StoredRequest(json.dumps(body).encode(), "application/json")).events
    )
    assert event.event_type is EventType.BOUNCED
    assert event.bounce_class is bounce_class
