"""Postmark: anymail's sample records mapped field by field, and HTTP Basic."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from emailhook.domain.events import EmailEvent, EventKind, Shape
from emailhook.domain.vocabulary import BounceClass, EventType, RejectReason
from emailhook.providers.base import (
    AuthenticationError,
    StoredRequest,
    UnreadableBodyError,
    WebhookRequest,
)
from emailhook.providers.postmark.webhook import Postmark
from support.signing import basic_header, sample_bytes

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def parse_body(body: bytes) -> EmailEvent:
    parsed = Postmark({}).parse(StoredRequest(body, "application/json"))
    assert parsed.shape is Shape.PROVIDER
    (event,) = parsed.events
    return event


def parse(name: str) -> EmailEvent:
    return parse_body(sample_bytes("postmark", name))


def test_hard_bounce_is_hard_with_its_id_and_details() -> None:
    event = parse("bounce_event")
    assert event.provider == "postmark"
    assert event.event_type is EventType.BOUNCED
    assert event.kind is EventKind.DELIVERY_REPORT
    assert event.bounce_class is BounceClass.HARD
    assert event.reject_reason is None
    assert event.status == "HardBounce"
    assert event.email == "bounce@example.com"
    assert event.message_id == "2706ee8a-737c-4285-b032-ccd317af53ed"
    assert event.provider_event_id == "901542550"
    # seven fractional digits and an offset (BouncedAt "2016-04-27T16:28:50.3963933-04:00")
    assert event.event_at == datetime(2016, 4, 27, 20, 28, 50, 396393, tzinfo=UTC)
    assert event.error_description.startswith("smtp;550 5.1.1")  # type: ignore[union-attr]


def test_soft_bounce_is_a_bounce_but_not_hard() -> None:
    event = parse("variant_soft_bounce")
    assert event.event_type is EventType.BOUNCED
    assert event.bounce_class is BounceClass.SOFT
    assert event.email == "soft@example.com"


def test_delivery_has_the_recipient_time_and_metadata() -> None:
    event = parse("delivered_event")
    assert event.event_type is EventType.DELIVERED
    assert event.status == "Delivery"
    assert event.email == "recipient@example.com"
    assert event.message_id == "883953f4-6105-42a2-a16a-77a8eac79483"
    assert event.event_at == datetime(2014, 8, 1, 17, 28, 10, 273539, tzinfo=UTC)
    assert event.callback_data == {"cohort": "2014-08-A", "userid": "12345"}
    assert event.qj_contact_id is None
    assert event.provider_event_id is None


def test_metadata_gives_the_contact() -> None:
    event = parse("variant_delivered_contact_metadata")
    assert event.qj_contact_id == 4711
    assert event.creditor_name == "ACME"


def test_open_and_click() -> None:
    opened = parse("open_event")
    assert opened.event_type is EventType.OPENED
    assert opened.kind is EventKind.TRACKING
    assert opened.email == "recipient@example.com"
    clicked = parse("click_event")
    assert clicked.event_type is EventType.CLICKED
    assert clicked.url == "https://example.com/click/me"
    assert clicked.event_at == datetime(2017, 10, 25, 15, 21, 11, 906561, tzinfo=UTC)


def test_spam_complaint() -> None:
    event = parse("spam_event")
    assert event.event_type is EventType.COMPLAINED
    assert event.email == "spam@example.com"
    assert event.bounce_class is None


@pytest.mark.parametrize(
    ("name", "event_type", "bounce_class"),
    [
        ("unsubscribe", EventType.UNSUBSCRIBED, None),
        ("resubscribe", EventType.SUBSCRIBED, None),
        ("subscription_change_bounce", EventType.BOUNCED, BounceClass.HARD),
        # Postmark sends some unsubscribes as a Bounce of Type Unsubscribe, without Email
        ("bounce_unsubscribe_variant", EventType.UNSUBSCRIBED, None),
    ],
)
def test_subscription_changes(
    name: str, event_type: EventType, bounce_class: BounceClass | None
) -> None:
    event = parse(name)
    assert event.event_type is event_type
    assert event.bounce_class is bounce_class


def test_bad_address_is_a_rejection_of_an_invalid_address() -> None:
    body = json.loads(sample_bytes("postmark", "bounce_event"))
    body["Type"] = "BadEmailAddress"
    event = parse_body(json.dumps(body).encode())
    assert event.event_type is EventType.REJECTED
    assert event.reject_reason is RejectReason.INVALID


def test_keys_use_the_id_where_given_and_a_digest_elsewhere() -> None:
    assert parse("bounce_event").event_key == parse("bounce_event").event_key
    assert parse("bounce_event").event_key != parse("variant_soft_bounce").event_key
    # the spam sample shares the bounce sample's ID: the record type keeps them apart
    assert parse("bounce_event").event_key != parse("spam_event").event_key
    body = json.loads(sample_bytes("postmark", "open_event"))
    later = {**body, "ReceivedAt": "2016-04-27T16:25:00.0000000-04:00"}
    assert parse_body(json.dumps(body).encode()).event_key != (
        parse_body(json.dumps(later).encode()).event_key
    )


def test_unknown_record_types_are_unknown_and_kept_raw() -> None:
    event = parse_body(b'{"RecordType": "Novel", "MessageID": "m"}')
    assert event.event_type is EventType.UNKNOWN
    assert event.raw == {"RecordType": "Novel", "MessageID": "m"}


@pytest.mark.parametrize("body", [b"<xml/>", b"[]", b'{"FromFull": {"Email": "a@b"}}'])
def test_bodies_that_are_not_postmark_records_are_unreadable(body: bytes) -> None:
    with pytest.raises(UnreadableBodyError):
        Postmark({}).parse(StoredRequest(body))


def test_missing_credentials_ask_for_basic() -> None:
    provider = Postmark({"basic_auth": ("hook:secret",)})
    with pytest.raises(AuthenticationError) as caught:
        provider.authenticate(WebhookRequest(b"{}", {}, "application/json", "http://x/"), NOW)
    assert caught.value.challenge is not None
    headers = basic_header("hook:secret")
    provider.authenticate(WebhookRequest(b"{}", headers, "application/json", "http://x/"), NOW)


def test_a_bounce_of_a_type_not_in_the_table_is_of_undetermined_class() -> None:
    body = json.loads(sample_bytes("postmark", "bounce_event"))
    body["Type"] = "SomethingNew"
    event = parse_body(json.dumps(body).encode())
    assert event.event_type is EventType.BOUNCED
    assert event.bounce_class is BounceClass.UNDETERMINED
