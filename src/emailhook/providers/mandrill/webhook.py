"""Mandrill's (Mailchimp Transactional) webhooks: a form body whose ``mandrill_events`` field is
a JSON array, signed in ``X-Mandrill-Signature``, read into the one vocabulary.

The signature covers the URL Mandrill called and every POST field, so behind a proxy that
changes scheme or host the public URL must be set (``webhook_url``), exactly as entered in
Mandrill (with any ``user:password@`` in it: Mandrill signs that too, anymail notes). Mandrill
checks a new webhook with a HEAD request, answered 200.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from emailhook.domain.events import EmailEvent, ParsedBody
from emailhook.domain.instants import from_epoch_seconds
from emailhook.domain.vocabulary import BounceClass, EventType, RejectReason
from emailhook.providers._batch import named_events, parse_items
from emailhook.providers._fields import (
    load_json,
    mapping,
    plain_address,
    provider_event,
    text,
)
from emailhook.providers.base import (
    AuthenticationError,
    Provider,
    ProviderSetting,
    StoredRequest,
    UnreadableBodyError,
    WebhookRequest,
    any_secret_matches,
    event_key,
)
from emailhook.providers.mandrill.send import SEND_SETTINGS

NAME = "mandrill"
EVENTS_FIELD = "mandrill_events"

#: Mandrill ``event`` (or ``type`` for sync events) -> (event type, bounce class)
EVENT_TYPES: dict[str, tuple[EventType, BounceClass | None]] = {
    "send": (EventType.SENT, None),
    "deferral": (EventType.DEFERRED, None),
    "hard_bounce": (EventType.BOUNCED, BounceClass.HARD),
    "soft_bounce": (EventType.BOUNCED, BounceClass.SOFT),
    "open": (EventType.OPENED, None),
    "click": (EventType.CLICKED, None),
    "spam": (EventType.COMPLAINED, None),
    "unsub": (EventType.UNSUBSCRIBED, None),
    "reject": (EventType.REJECTED, None),
    # sync events: the rejection list or allow list changed, no message involved
    "blacklist": (EventType.UNKNOWN, None),
    "whitelist": (EventType.UNKNOWN, None),
}

#: Mandrill's rejection reasons (``reject_reason`` of its send API, the rejection list's
#: ``reason``) -> reject reason; the first three mean Mandrill already suppresses the address
REJECT_REASONS: dict[str, RejectReason] = {
    "hard-bounce": RejectReason.BOUNCED,
    "soft-bounce": RejectReason.BOUNCED,  #: listed after repeated soft bounces
    "spam": RejectReason.SPAM,
    "unsub": RejectReason.UNSUBSCRIBED,
    "custom": RejectReason.BLOCKED,  #: added to the rejection list by hand
    "rule": RejectReason.BLOCKED,
    "invalid": RejectReason.INVALID,
    "invalid-sender": RejectReason.OTHER,
    "test-mode-limit": RejectReason.OTHER,
    "unsigned": RejectReason.OTHER,
}


def mandrill_signature(key: str, url: str, fields: Mapping[str, str]) -> bytes:
    """Return Mandrill's signature: base64 HMAC-SHA1 over the URL and each field's name and
    value, sorted by name."""
    signed = url + "".join(name + fields[name] for name in sorted(fields))
    digest = hmac.new(key.encode("utf-8"), signed.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest)


def form_fields(body: bytes) -> dict[str, str]:
    """Return a form body's fields (the last of a repeated name, as Mandrill's docs do)."""
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except (UnicodeDecodeError, ValueError) as error:
        raise UnreadableBodyError(f"Mandrill body is not a form: {error}") from None


class Mandrill(Provider):
    """Mandrill: HMAC-SHA1 over URL and form fields; events in ``mandrill_events``."""

    name = NAME
    settings = (
        ProviderSetting("webhook_keys", "secrets", "the webhooks' keys shown by Mandrill"),
        ProviderSetting(
            "webhook_url", "text", "the public URL as Mandrill calls it (behind a proxy)"
        ),
        *SEND_SETTINGS,
    )
    enabled_by = ("webhook_keys",)
    check_methods = frozenset({"HEAD"})
    reads_url = True

    def authenticate(self, request: WebhookRequest, now: datetime) -> None:
        del now
        offered = request.headers.get("x-mandrill-signature", "").strip()
        if not offered:
            raise AuthenticationError("no X-Mandrill-Signature")
        url = self.values.get("webhook_url") or request.url
        try:
            fields = form_fields(request.body)
        except UnreadableBodyError as error:
            raise AuthenticationError(str(error)) from None
        keys = self.values.get("webhook_keys", ())
        expected = [mandrill_signature(key, url, fields) for key in keys]
        if not any_secret_matches(offered.encode(), expected):
            raise AuthenticationError(f"wrong X-Mandrill-Signature for {url}")

    def parse(self, request: StoredRequest) -> ParsedBody:
        fields = form_fields(request.body)
        if EVENTS_FIELD not in fields:
            raise UnreadableBodyError("Mandrill body has no mandrill_events field")
        items = load_json(fields[EVENTS_FIELD].encode("utf-8"), NAME)
        if not isinstance(items, list):
            raise UnreadableBodyError("mandrill_events is not a JSON array")
        return parse_items(items, named_events(_event, name=_type))


def _type(item: Mapping[str, Any]) -> str | None:
    return text(item.get("event")) or text(item.get("type"))


def _event(item: Mapping[str, Any]) -> EmailEvent:
    status = _type(item) or ""
    event_type, bounce_class = EVENT_TYPES.get(status, (EventType.UNKNOWN, None))
    msg = mapping(item.get("msg"))
    listing = mapping(item.get("reject"))  # sync events (sync_event.json) and rejections
    reason = text(msg.get("reject_reason")) or text(listing.get("reason"))
    reject_reason = None
    if event_type is EventType.REJECTED:
        reject_reason = REJECT_REASONS.get(reason or "", RejectReason.OTHER)
    message_id = text(item.get("_id")) or text(msg.get("_id"))
    email = plain_address(msg.get("email")) or plain_address(listing.get("email"))
    url = text(item.get("url"))
    return provider_event(
        NAME,
        # Mandrill has no event id (``_id`` is the message's, shared by its events)
        key=event_key(NAME, message_id, email, status, item.get("ts"), url),
        event_type=event_type,
        status=status,
        email=email,
        message_id=message_id,
        event_at=from_epoch_seconds(item.get("ts")),
        sent_at=from_epoch_seconds(msg.get("ts")),
        raw=item,
        metadata=mapping(msg.get("metadata")) or None,
        bounce_class=bounce_class,
        reject_reason=reject_reason,
        url=url,
        error_description=text(msg.get("diag")) or text(listing.get("detail")),
        status_description=text(msg.get("bounce_description")) or reason,
    )
