"""MailerSend's activity webhooks: ``{"type": "activity.*", ..., "data": {...}}``, signed with
a hex HMAC-SHA256 of the raw body in ``Signature``, read into the one vocabulary.

MailerSend escapes ``/`` as ``\\/`` in its JSON: the signature covers those bytes as sent, so
it is checked on the raw body, never on re-serialized JSON.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from emailhook.domain.events import EmailEvent, ParsedBody, Shape
from emailhook.domain.instants import parse_instant
from emailhook.domain.vocabulary import BounceClass, EventType, RejectReason
from emailhook.providers._fields import load_json, mapping, plain_address, provider_event, text
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
from emailhook.providers.mailersend.send import SEND_SETTINGS

NAME = "mailersend"

#: MailerSend ``data.type`` -> (event type, bounce class): hard or soft from its own names
EVENT_TYPES: dict[str, tuple[EventType, BounceClass | None]] = {
    "sent": (EventType.SENT, None),
    "delivered": (EventType.DELIVERED, None),
    "soft_bounced": (EventType.BOUNCED, BounceClass.SOFT),
    "hard_bounced": (EventType.BOUNCED, BounceClass.HARD),
    "opened": (EventType.OPENED, None),
    "clicked": (EventType.CLICKED, None),
    "unsubscribed": (EventType.UNSUBSCRIBED, None),
    "spam_complaint": (EventType.COMPLAINED, None),
    # "opened_unique"/"clicked_unique" repeat the first "opened"/"clicked" with another id:
    # mapped, they would count every first open twice; they stay UNKNOWN, kept raw
}

#: MailerSend ``data.morph.object`` -> reject reason (anymail's table)
MORPH_REASONS: dict[str, RejectReason] = {
    "recipient_bounce": RejectReason.BOUNCED,
    "spam_complaint": RejectReason.SPAM,
    "recipient_unsubscribe": RejectReason.UNSUBSCRIBED,
}


def mailersend_signature(secret: str, body: bytes) -> bytes:
    """Return MailerSend's ``Signature``: hex HMAC-SHA256 of the raw body."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest().encode()


class MailerSend(Provider):
    """MailerSend: HMAC-SHA256 of the raw body; one activity a request."""

    name = NAME
    settings = (
        ProviderSetting("signing_secrets", "secrets", "the webhooks' signing secrets"),
        *SEND_SETTINGS,
    )
    enabled_by = ("signing_secrets",)

    def authenticate(self, request: WebhookRequest, now: datetime) -> None:
        del now
        offered = request.headers.get("signature", "").strip()
        if not offered:
            raise AuthenticationError("no Signature header")
        secrets = self.values.get("signing_secrets", ())
        expected = [mailersend_signature(secret, request.body) for secret in secrets]
        if not any_secret_matches(offered.lower().encode(), expected):
            raise AuthenticationError("wrong Signature")

    def parse(self, request: StoredRequest) -> ParsedBody:
        body = load_json(request.body, NAME)
        if not isinstance(body, Mapping) or not isinstance(body.get("data"), Mapping):
            raise UnreadableBodyError("MailerSend body is not an object with data")
        kind = text(body.get("type")) or ""
        if not kind.startswith("activity."):
            # inbound.message and maintenance events carry no e-mail activity
            raise UnreadableBodyError(f"MailerSend {kind or 'untyped'} body is not an activity")
        return ParsedBody(Shape.PROVIDER, events=[_event(body["data"])])


def _event(data: Mapping[str, Any]) -> EmailEvent:
    status = text(data.get("type")) or ""
    event_type, bounce_class = EVENT_TYPES.get(status, (EventType.UNKNOWN, None))
    email_data = mapping(data.get("email"))
    morph = mapping(data.get("morph"))  # null on sent/delivered (sent_event.json)
    message_id = text(mapping(email_data.get("message")).get("id"))
    email = plain_address(mapping(email_data.get("recipient")).get("email"))
    activity_id = text(data.get("id"))
    tags = email_data.get("tags")
    return provider_event(
        NAME,
        key=event_key(NAME, activity_id)
        if activity_id
        else event_key(NAME, message_id, email, status, data.get("created_at")),
        event_type=event_type,
        status=status,
        email=email,
        message_id=message_id,
        event_at=parse_instant(data.get("created_at")),
        sent_at=parse_instant(email_data.get("created_at")),
        raw=data,
        metadata={"tags": tags} if isinstance(tags, list) and tags else None,
        provider_event_id=activity_id,
        bounce_class=bounce_class,
        reject_reason=MORPH_REASONS.get(text(morph.get("object")) or ""),
        url=text(morph.get("url")),
        error_description=text(morph.get("reason")),
        status_description=text(morph.get("readable_reason")),
    )
