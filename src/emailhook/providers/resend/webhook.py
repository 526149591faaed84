"""Resend's webhooks: ``{type, created_at, data}``, signed by Svix.

Svix signs ``{svix-id}.{svix-timestamp}.{body}`` with HMAC-SHA256 under the secret's bytes
(the base64 after ``whsec_``); ``svix-signature`` holds one or more ``v1,<base64>`` separated by
spaces. ``svix-id`` is the event's id, stable across retries, so the inbox keeps it. One e-mail
to several addresses names them all in ``data.to`` without saying which one the event is for:
one event per address.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from emailhook.domain.events import EmailEvent, ParsedBody, Shape
from emailhook.domain.instants import parse_instant
from emailhook.domain.vocabulary import BounceClass, EventType, RejectReason
from emailhook.providers._fields import (
    address,
    load_json,
    mapping,
    provider_event,
    require_fresh,
    text,
)
from emailhook.providers.amazon_ses.events import BOUNCE_CLASSES, SUPPRESSED_SUBTYPES
from emailhook.providers.base import (
    AuthenticationError,
    Fetch,
    Provider,
    ProviderSetting,
    ProviderValues,
    StoredRequest,
    UnreadableBodyError,
    WebhookRequest,
    any_secret_matches,
    event_key,
)
from emailhook.providers.resend.send import SEND_SETTINGS

#: Resend ``type`` -> EventType
EVENT_TYPES: dict[str, EventType] = {
    "email.scheduled": EventType.QUEUED,
    "email.sent": EventType.SENT,
    "email.delivered": EventType.DELIVERED,
    "email.delivery_delayed": EventType.DEFERRED,
    "email.bounced": EventType.BOUNCED,  #: or REJECTED when Resend suppressed the send
    "email.complained": EventType.COMPLAINED,
    "email.opened": EventType.OPENED,
    "email.clicked": EventType.CLICKED,
    "email.failed": EventType.FAILED,
    "email.suppressed": EventType.REJECTED,  #: on Resend's suppression list already
}

#: ``data.bounce`` passes on SES's bounce types and subtypes: its ``type`` and ``subType``
#: are read with the Amazon SES tables (_ses_events: BOUNCE_CLASSES, SUPPRESSED_SUBTYPES)


def _secret_key(secret: str) -> bytes:
    encoded = secret.strip().removeprefix("whsec_")
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError("a Resend signing secret is whsec_ followed by base64") from error


class Resend(Provider):
    """Resend's tracking webhooks, signed by Svix."""

    name: ClassVar[str] = "resend"
    settings: ClassVar[tuple[ProviderSetting, ...]] = (
        ProviderSetting("signing_secrets", "secrets", "the webhook's whsec_... signing secrets"),
        ProviderSetting(
            "max_age_seconds", "number", "how old svix-timestamp may be", default=300.0
        ),
        *SEND_SETTINGS,
    )
    enabled_by: ClassVar[tuple[str, ...]] = ("signing_secrets",)
    kept_headers: ClassVar[tuple[str, ...]] = ("svix-id",)

    def __init__(self, values: ProviderValues, *, fetch: Fetch | None = None) -> None:
        super().__init__(values, fetch=fetch)
        self._keys = [_secret_key(secret) for secret in values.get("signing_secrets", ())]
        self._max_age = float(values.get("max_age_seconds", 300.0))

    def authenticate(self, request: WebhookRequest, now: datetime) -> None:
        msg_id = request.headers.get("svix-id", "").strip()
        stamp = request.headers.get("svix-timestamp", "").strip()
        offered = request.headers.get("svix-signature", "").split()
        if not msg_id or not stamp or not offered:
            raise AuthenticationError("Resend: svix-id, svix-timestamp or svix-signature missing")
        require_fresh(stamp, now, self._max_age, "Resend: svix-timestamp")
        signed = f"{msg_id}.{stamp}.".encode() + request.body
        expected = [
            base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()) for key in self._keys
        ]
        matched = False
        for part in offered:
            version, _, signature = part.partition(",")
            if version == "v1":
                matched |= any_secret_matches(signature.encode(), expected)
        if not matched:
            raise AuthenticationError("Resend: no svix-signature matches")

    def parse(self, request: StoredRequest) -> ParsedBody:
        body = load_json(request.body, "Resend")
        if not isinstance(body, Mapping) or not text(body.get("type")):
            raise UnreadableBodyError("Resend body is not an object with a type")
        svix_id = request.headers.get("svix-id")
        return ParsedBody(Shape.PROVIDER, events=_events(body, svix_id))


def _recipients(data: Mapping[str, Any]) -> list[str | None]:
    to = data.get("to")
    values = to if isinstance(to, list) else [to] if to else [data.get("email")]
    found = [address(value) for value in values]
    unique = list(dict.fromkeys(value for value in found if value))
    return list(unique) if unique else [None]


def _classify(
    status: str, data: Mapping[str, Any]
) -> tuple[EventType, BounceClass | None, RejectReason | None]:
    event_type = EVENT_TYPES.get(status, EventType.UNKNOWN)
    if event_type is EventType.REJECTED:
        return event_type, None, RejectReason.BOUNCED
    if event_type is not EventType.BOUNCED:
        return event_type, None, None
    bounce = mapping(data.get("bounce"))
    message = text(bounce.get("message")) or ""
    if text(bounce.get("subType")) in SUPPRESSED_SUBTYPES or "suppressed sending" in message:
        # sample suppressed.json: "Resend has suppressed sending to this address because it
        # is on the account-level suppression list": not a new bounce
        return EventType.REJECTED, None, RejectReason.BOUNCED
    bounce_class = BOUNCE_CLASSES.get(str(text(bounce.get("type"))))
    if bounce_class is None:
        # older payloads (hard_bounced.json) say it only in words
        bounce_class = BounceClass.HARD if "hard bounce" in message else BounceClass.UNDETERMINED
    return event_type, bounce_class, None


def _tags(data: Mapping[str, Any]) -> dict[str, Any]:
    tags = data.get("tags")
    if isinstance(tags, Mapping):
        return dict(tags)
    if isinstance(tags, list):  # [{"name": ..., "value": ...}] as sent through the API
        return {str(t.get("name")): t.get("value") for t in tags if isinstance(t, Mapping)}
    return {}


def _events(body: Mapping[str, Any], svix_id: str | None) -> list[EmailEvent]:
    status = str(text(body.get("type")))
    data = mapping(body.get("data"))
    event_type, bounce_class, reject_reason = _classify(status, data)
    message_id = text(data.get("email_id"))
    created = text(body.get("created_at"))
    bounce = mapping(data.get("bounce"))
    tags = _tags(data)
    return [
        provider_event(
            "resend",
            key=event_key("resend", svix_id, email, status)
            if svix_id
            else event_key("resend", message_id, email, status, created),
            event_type=event_type,
            status=status,
            email=email,
            message_id=message_id,
            event_at=parse_instant(created),
            raw=body,
            metadata=tags,
            provider_event_id=svix_id,
            bounce_class=bounce_class,
            reject_reason=reject_reason,
            url=text(mapping(data.get("click")).get("link")),
            error_description=text(bounce.get("message")),
            sent_at=parse_instant(data.get("created_at")),
            bulk_id=text(data.get("broadcast_id")),
        )
        for email in _recipients(data)
    ]
