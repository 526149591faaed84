"""Postal's webhooks: ``{event, timestamp, payload, uuid}``, signed with the server's RSA key
over the raw body, read into the one vocabulary.

Postal signs with SHA-1 in ``X-Postal-Signature`` and, in newer versions, with SHA-256 in
``X-Postal-Signature-256``; either is accepted when it verifies, SHA-256 tried first. Postal
shows its public key as base64 DER (no PEM armour); both forms are read.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from emailhook.domain.events import EmailEvent, ParsedBody, Shape
from emailhook.domain.instants import from_epoch_seconds
from emailhook.domain.vocabulary import BounceClass, EventType, RejectReason
from emailhook.providers import _keys
from emailhook.providers._fields import address, load_json, mapping, provider_event, text
from emailhook.providers.base import (
    AuthenticationError,
    Fetch,
    Provider,
    ProviderSetting,
    ProviderValues,
    StoredRequest,
    UnreadableBodyError,
    WebhookRequest,
    event_key,
)
from emailhook.providers.postal.send import SEND_SETTINGS

NAME = "postal"

#: signature headers, tried in this order, with the hash each one uses
SIGNATURE_HEADERS: tuple[tuple[str, hashes.HashAlgorithm], ...] = (
    ("x-postal-signature-256", hashes.SHA256()),
    ("x-postal-signature", hashes.SHA1()),  # noqa: S303 - Postal's older scheme, still sent
)

#: Postal ``payload.status`` -> (event type, bounce class)
STATUSES: dict[str, tuple[EventType, BounceClass | None]] = {
    "Sent": (EventType.DELIVERED, None),
    "SoftFail": (EventType.DEFERRED, BounceClass.SOFT),
    #: the receiving server refused the message for good (anymail says failed; here it is
    #: the bounce it is, so that the address can be suppressed)
    "HardFail": (EventType.BOUNCED, BounceClass.HARD),
    "Held": (EventType.QUEUED, None),  #: see _held
}

#: Postal ``event`` -> event type, for payloads without a status
EVENTS: dict[str, EventType] = {
    "MessageBounced": EventType.BOUNCED,
    "MessageLinkClicked": EventType.CLICKED,
    "MessageLoaded": EventType.OPENED,
}


def load_public_key(value: str) -> rsa.RSAPublicKey:
    """Return an RSA public key from PEM or from base64 DER (as Postal's UI shows it)."""
    key = _keys.load_public_key(value, "EMAILHOOK_POSTAL_PUBLIC_KEYS")
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("EMAILHOOK_POSTAL_PUBLIC_KEYS: Postal signs with RSA keys")
    return key


class Postal(Provider):
    """Postal: RSA PKCS#1 v1.5 signatures of the raw body."""

    name = NAME
    settings = (
        ProviderSetting("public_keys", "secrets", "the server's signing keys (base64 DER or PEM)"),
        *SEND_SETTINGS,
    )
    enabled_by = ("public_keys",)

    def __init__(self, values: ProviderValues, *, fetch: Fetch | None = None) -> None:
        super().__init__(values, fetch=fetch)
        self._keys = [load_public_key(v) for v in values.get("public_keys", ())]

    def authenticate(self, request: WebhookRequest, now: datetime) -> None:
        del now
        offered = [
            (request.headers[header], algorithm)
            for header, algorithm in SIGNATURE_HEADERS
            if request.headers.get(header, "").strip()
        ]
        if not offered:
            raise AuthenticationError("no X-Postal-Signature")
        for signature, algorithm in offered:
            if self._verifies(signature, algorithm, request.body):
                return
        raise AuthenticationError("wrong X-Postal-Signature")

    def _verifies(self, signature: str, algorithm: hashes.HashAlgorithm, body: bytes) -> bool:
        try:
            raw = base64.b64decode(signature.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        return _keys.verified_by_any(
            self._keys, lambda key: key.verify(raw, body, padding.PKCS1v15(), algorithm)
        )

    def parse(self, request: StoredRequest) -> ParsedBody:
        body = load_json(request.body, NAME)
        if not isinstance(body, Mapping) or not isinstance(body.get("payload"), Mapping):
            raise UnreadableBodyError("Postal body is not an object with a payload")
        if "rcpt_to" in body:
            raise UnreadableBodyError("an inbound Postal message, not a tracking event")
        payload = body["payload"]
        message = mapping(payload.get("message")) or mapping(payload.get("original_message"))
        if message.get("direction") == "incoming":
            # Postal reports on mail it received (ignore_incoming_events.json): none of ours
            return ParsedBody(Shape.PROVIDER)
        return ParsedBody(Shape.PROVIDER, events=[_event(body, payload, message)])


def _event(
    body: Mapping[str, Any], payload: Mapping[str, Any], message: Mapping[str, Any]
) -> EmailEvent:
    status = text(body.get("event"))
    postal_status = text(payload.get("status"))
    bounce_class = reject_reason = None
    if postal_status:
        event_type, bounce_class = STATUSES.get(postal_status, (EventType.UNKNOWN, None))
    elif "bounce" in payload:
        # a bounce report names no hard or soft; bounce_event.json even comes as
        # "MessageDelayed", so the payload's shape decides, as in anymail
        event_type, bounce_class = EventType.BOUNCED, BounceClass.UNDETERMINED
    else:
        event_type = EVENTS.get(status or "", EventType.UNKNOWN)
    details = text(payload.get("details"))
    if postal_status == "Held" and "suppression list" in (details or "").lower():
        # "Recipient (...) is on the suppression list" (queued_event.json): Postal adds
        # addresses after hard fails and bounces, and drops later messages to them
        event_type, reject_reason = EventType.REJECTED, RejectReason.BOUNCED
    message_id = text(message.get("id"))
    email = address(message.get("to"))
    uuid = text(body.get("uuid"))
    return provider_event(
        NAME,
        key=event_key(NAME, uuid) if uuid else event_key(NAME, message_id, email, status),
        event_type=event_type,
        status=status,
        email=email,
        message_id=message_id,
        event_at=from_epoch_seconds(body.get("timestamp")),
        sent_at=from_epoch_seconds(message.get("timestamp")),
        raw=body,
        provider_event_id=uuid,
        bounce_class=bounce_class,
        reject_reason=reject_reason,
        url=text(payload.get("url")),
        error_description=text(payload.get("output")),
        status_description=details,
        metadata={"tag": message["tag"]} if text(message.get("tag")) else None,
    )
