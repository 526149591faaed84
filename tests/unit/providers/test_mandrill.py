"""Mandrill: every saved sample normalized field by field (posted in its form body), the
signature over URL and fields (public URL behind a proxy), HEAD check, rejections."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from emailhook.domain.vocabulary import ALREADY_SUPPRESSED, BounceClass, EventType, RejectReason
from emailhook.providers.base import (
    AuthenticationError,
    StoredRequest,
    UnreadableBodyError,
    WebhookRequest,
)
from emailhook.providers.mandrill.webhook import Mandrill
from support.signing import (
    MANDRILL_URL,
    assert_fields,
    mandrill_request,
    mandrill_signature,
    parse_sample,
    provider_values,
    sample,
    sample_names,
    with_header,
)

KEY = "test-webhook-key"
PROVIDER = Mandrill(provider_values(Mandrill, webhook_keys=[KEY]))
E, B, R = EventType, BounceClass, RejectReason
NOW = datetime(2026, 12, 1, tzinfo=UTC)
TS = datetime(2016, 4, 19, 19, 47, 26, tzinfo=UTC)
MID = "abcdef012345789abcdef012345789"

#: sample -> per event: event_type, bounce_class, reject_reason, status, email, message_id,
#: event_at
EXPECTED: dict[str, list[tuple[object, ...]]] = {
    "send_event": [(E.SENT, None, None, "send", "recipient@example.com", MID, TS)],
    "old_tracking_url": [(E.SENT, None, None, "send", "recipient@example.com", MID, TS)],
    "hard_bounce_event": [(E.BOUNCED, B.HARD, None, "hard_bounce", "bounce@example.com", MID, TS)],
    "click_event": [(E.CLICKED, None, None, "click", "recipient@example.com", MID, TS)],
    "sync_event": [(E.UNKNOWN, None, None, "blacklist", "recipient@example.com", None, None)],
    "variant_reject_and_contact": [
        (
            E.REJECTED,
            None,
            R.BOUNCED,
            "reject",
            "bounced@example.com",
            "abcdef012345789abcdef012345790",
            datetime(2016, 4, 19, 19, 46, 52, tzinfo=UTC),
        ),
        (
            E.BOUNCED,
            B.SOFT,
            None,
            "soft_bounce",
            "full@example.com",
            "abcdef012345789abcdef012345791",
            TS,
        ),
    ],
}
FIELDS = ("event_type", "bounce_class", "reject_reason", "status", "email", "message_id",
          "event_at")  # fmt: skip


def test_every_saved_sample_has_expectations() -> None:
    assert sorted(EXPECTED) == sample_names("mandrill")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_sample_normalizes_to_its_fields(name: str) -> None:
    parsed = parse_sample(PROVIDER, name)
    assert parsed.rejected == []
    assert len(parsed.events) == len(EXPECTED[name])
    for event, row in zip(parsed.events, EXPECTED[name], strict=True):
        assert_fields(event, {"provider": "mandrill", **dict(zip(FIELDS, row, strict=True))})


def test_a_soft_bounce_is_not_hard_and_carries_its_diagnostic() -> None:
    soft = parse_sample(PROVIDER, "variant_reject_and_contact").events[1]
    assert soft.bounce_class is BounceClass.SOFT
    assert soft.error_description == "smtp;452 4.2.2 Mailbox full"
    assert soft.status_description == "mailbox_full"


def test_a_rejection_for_an_earlier_hard_bounce_is_already_suppressed() -> None:
    rejected = parse_sample(PROVIDER, "variant_reject_and_contact").events[0]
    assert rejected.reject_reason in ALREADY_SUPPRESSED
    assert rejected.qj_contact_id == 4711
    without_reason = [{"event": "reject", "msg": {"email": "x@example.com"}, "ts": 1}]
    event = PROVIDER.parse(mandrill_request(without_reason).stored(())).events[0]
    assert event.reject_reason is RejectReason.OTHER


def test_metadata_fills_callback_data_and_click_url() -> None:
    sent = parse_sample(PROVIDER, "send_event").events[0]
    assert sent.callback_data == {"custom1": "value1", "custom2": "value2"}
    assert parse_sample(PROVIDER, "click_event").events[0].url == "http://example.com"


def test_keys_are_stable_and_distinct_across_events() -> None:
    names = ["send_event", "hard_bounce_event", "click_event", "variant_reject_and_contact"]
    keys = [e.event_key for n in names for e in parse_sample(PROVIDER, n).events]
    assert keys == [e.event_key for n in names for e in parse_sample(PROVIDER, n).events]
    assert len(set(keys)) == len(keys)


def test_the_signature_is_checked_against_the_configured_public_url() -> None:
    # behind a proxy the service sees http://internal:8000/..., Mandrill signed the public URL
    public = Mandrill(provider_values(Mandrill, webhook_keys=[KEY], webhook_url=MANDRILL_URL))
    internal = mandrill_request(sample("mandrill", "send_event"), url="http://internal:8000/x")
    signed_for_public = with_header(
        internal, "x-mandrill-signature", mandrill_signature(KEY, mandrill_request([]))
    )
    body_signed = mandrill_signature(KEY, mandrill_request(sample("mandrill", "send_event")))
    request = with_header(internal, "x-mandrill-signature", body_signed)
    public.authenticate(request, NOW)
    with pytest.raises(AuthenticationError):
        PROVIDER.authenticate(request, NOW)  # no webhook_url: the internal URL is signed
    with pytest.raises(AuthenticationError):
        public.authenticate(signed_for_public, NOW)


def test_every_post_field_is_signed_in_sorted_order() -> None:
    body = urlencode({"zeta": "1", "mandrill_events": "[]", "alpha": "2"}).encode()
    form = "application/x-www-form-urlencoded"
    request = WebhookRequest(body, {}, form, MANDRILL_URL)
    signed = with_header(request, "x-mandrill-signature", mandrill_signature(KEY, request))
    PROVIDER.authenticate(signed, NOW)
    assert PROVIDER.parse(signed.stored(())).events == []


def test_a_head_request_is_the_setup_check() -> None:
    assert Mandrill.check_methods == frozenset({"HEAD"})


@pytest.mark.parametrize(
    "body", [b"mandrill_events=not-json", b"other=1", b"mandrill_events=%7B%7D", b"\xff\xfe"]
)
def test_a_body_that_is_not_mandrills_is_unreadable(body: bytes) -> None:
    with pytest.raises(UnreadableBodyError):
        PROVIDER.parse(StoredRequest(body, "application/x-www-form-urlencoded"))


def test_bad_items_are_rejected_and_the_rest_kept() -> None:
    events = [{"event": "open", "msg": {"email": "a@example.com"}, "ts": 1}, 3, {"x": 1}]
    parsed = PROVIDER.parse(mandrill_request(events).stored(()))
    assert len(parsed.events) == 1
    assert [item.index for item in parsed.rejected] == [1, 2]
