"""SendGrid: anymail's sample events mapped field by field; signatures made with a P-256 key."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from emailhook.domain.events import EmailEvent, EventKind, Shape
from emailhook.domain.vocabulary import ALREADY_SUPPRESSED, BounceClass, EventType, RejectReason
from emailhook.providers.base import (
    AuthenticationError,
    StoredRequest,
    UnreadableBodyError,
    WebhookRequest,
)
from emailhook.providers.sendgrid.webhook import SendGrid
from support.signing import SendGridSigner, sample_bytes

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def parse(name: str) -> list[EmailEvent]:
    body = sample_bytes("sendgrid", name)
    parsed = SendGrid({}).parse(StoredRequest(body, "application/json"))
    assert parsed.shape is Shape.PROVIDER
    return parsed.events


def test_processed_is_queued_with_the_smtp_message_and_time() -> None:
    (event,) = parse("processed_event")
    assert event.provider == "sendgrid"
    assert event.event_type is EventType.QUEUED
    assert event.kind is EventKind.DELIVERY_REPORT
    assert event.status == "processed"
    assert event.email == "recipient@example.com"
    assert event.message_id == "wrfRRvF7Q0GgwUo2CvDmEA.filter0425p1mdw1.13037.57168B4A1D.0"
    assert event.event_at == datetime(2016, 4, 19, 19, 47, 26, tzinfo=UTC)
    assert event.bounce_class is None
    assert event.reject_reason is None
    assert event.provider_event_id == "ZyjAM5rnQmuI1KFInHQ3Nw"
    # custom args merged at the top level are the sender's metadata
    assert event.callback_data == {"custom1": "value1", "custom2": "value2"}
    assert event.qj_contact_id is None


def test_custom_args_give_the_contact_and_campaign() -> None:
    (event,) = parse("variant_processed_custom_args")
    assert event.qj_contact_id == 4711
    assert event.campaign == "spring"


def test_delivered_keeps_the_smtp_response() -> None:
    (event,) = parse("delivered_event")
    assert event.event_type is EventType.DELIVERED
    assert event.status_description == "250 2.0.0 OK 1461095248 m143si2210036ioe.159 - gsmtp"
    assert event.event_at == datetime(2016, 4, 19, 19, 47, 30, tzinfo=UTC)


def test_message_id_falls_back_to_smtp_id() -> None:
    event = (
        SendGrid({})
        .parse(StoredRequest(b'[{"event":"delivered","email":"A@B.example","smtp-id":"<x@y>"}]'))
        .events[0]
    )
    assert event.message_id == "<x@y>"
    assert event.email == "a@b.example"


def test_bounce_is_hard_and_block_is_block() -> None:
    (hard,) = parse("bounce_event")
    assert hard.event_type is EventType.BOUNCED
    assert hard.bounce_class is BounceClass.HARD
    assert hard.error_description.startswith("550 5.1.1")  # type: ignore[union-attr]
    assert hard.reject_reason is None
    (block,) = parse("variant_bounce_blocked")
    assert block.event_type is EventType.BOUNCED
    assert block.bounce_class is BounceClass.BLOCK


def test_deferred_is_deferred_not_a_bounce() -> None:
    (event,) = parse("deferred_event")
    assert event.event_type is EventType.DEFERRED
    assert event.bounce_class is None


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("dropped_bounced", RejectReason.BOUNCED),
        ("dropped_unsubscribed_event", RejectReason.UNSUBSCRIBED),
        ("dropped_invalid_event", RejectReason.INVALID),
    ],
)
def test_drops_are_rejections_with_their_reason(name: str, reason: RejectReason) -> None:
    (event,) = parse(name)
    assert event.event_type is EventType.REJECTED
    assert event.reject_reason is reason
    assert event.bounce_class is None


def test_drops_of_suppressed_addresses_are_already_suppressed_not_bounces() -> None:
    for name in ("dropped_bounced", "dropped_unsubscribed_event"):
        (event,) = parse(name)
        assert event.reject_reason in ALREADY_SUPPRESSED
        assert event.event_type is not EventType.BOUNCED


def test_open_and_click_are_tracking_with_the_url() -> None:
    (opened,) = parse("open_event")
    assert opened.event_type is EventType.OPENED
    assert opened.kind is EventKind.TRACKING
    (clicked,) = parse("click_event")
    assert clicked.event_type is EventType.CLICKED
    assert clicked.url == "http://www.example.com"
    assert clicked.callback_data == {}  # url_offset is SendGrid's, not metadata


def test_keys_are_stable_and_ignore_sg_event_id() -> None:
    first = parse("delivered_event")[0]
    assert parse("delivered_event")[0].event_key == first.event_key
    item = json.loads(sample_bytes("sendgrid", "delivered_event"))[0]
    item["sg_event_id"] = "changed-on-retry"
    retried = SendGrid({}).parse(StoredRequest(json.dumps([item]).encode())).events[0]
    assert retried.event_key == first.event_key


def test_clicks_of_different_urls_have_different_keys() -> None:
    item = json.loads(sample_bytes("sendgrid", "click_event"))[0]
    other = {**item, "url": "http://www.example.com/other"}
    events = SendGrid({}).parse(StoredRequest(json.dumps([item, other]).encode())).events
    assert len({event.event_key for event in events}) == 2


def test_distinct_events_of_one_message_have_distinct_keys() -> None:
    names = ["processed_event", "delivered_event", "open_event", "bounce_event"]
    keys = {parse(name)[0].event_key for name in names}
    assert len(keys) == len(names)


def test_a_bad_item_is_rejected_and_the_rest_kept() -> None:
    body = sample_bytes("sendgrid", "variant_batch_with_bad_items")
    parsed = SendGrid({}).parse(StoredRequest(body))
    assert [event.event_type for event in parsed.events] == [
        EventType.DELIVERED,
        EventType.OPENED,
        EventType.CLICKED,
    ]
    assert [item.index for item in parsed.rejected] == [2, 3]


def test_unknown_event_names_are_unknown_and_kept_raw() -> None:
    (event,) = SendGrid({}).parse(StoredRequest(b'[{"event":"machine_open","email":"a@b"}]')).events
    assert event.event_type is EventType.UNKNOWN
    assert event.raw == {"event": "machine_open", "email": "a@b"}


def test_an_empty_batch_has_no_events() -> None:
    parsed = SendGrid({}).parse(StoredRequest(b"[]"))
    assert parsed.events == []
    assert parsed.rejected == []


@pytest.mark.parametrize("body", [b"not json", b'{"event":"delivered"}', b'"x"'])
def test_bodies_that_are_not_a_sendgrid_batch_are_unreadable(body: bytes) -> None:
    with pytest.raises(UnreadableBodyError):
        SendGrid({}).parse(StoredRequest(body))


def test_signature_from_a_pem_key_also_verifies() -> None:
    signer = SendGridSigner()
    pem = "-----BEGIN PUBLIC KEY-----\n" + signer.public_key + "\n-----END PUBLIC KEY-----\n"
    provider = SendGrid({"public_keys": (pem,)})
    body = b"[]"
    stamp = int(NOW.timestamp())
    request = WebhookRequest(body, signer.headers(body, stamp), "application/json", "http://x/")
    provider.authenticate(request, NOW)


def test_a_signature_over_another_body_fails() -> None:
    signer = SendGridSigner()
    provider = SendGrid({"public_keys": (signer.public_key,)})
    headers = signer.headers(b"[]", int(NOW.timestamp()))
    request = WebhookRequest(b"[{}]", headers, "application/json", "http://x/")
    with pytest.raises(AuthenticationError):
        provider.authenticate(request, NOW)


def test_a_timestamp_from_the_future_beyond_the_window_fails() -> None:
    signer = SendGridSigner()
    provider = SendGrid({"public_keys": (signer.public_key,), "max_age_seconds": 60.0})
    stamp = int((NOW + timedelta(seconds=61)).timestamp())
    request = WebhookRequest(b"[]", signer.headers(b"[]", stamp), "application/json", "http://x/")
    with pytest.raises(AuthenticationError):
        provider.authenticate(request, NOW)
