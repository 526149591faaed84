"""Mailgun's webhooks: ``{"signature": {...}, "event-data": {...}}``, or legacy form fields.

Mailgun's HMAC-SHA256 covers only ``timestamp + token``, not the body: a captured signature
would sign any body. So a signature is taken only within a freshness window, and each token
only once within it (an in-memory cache). Hard or soft comes from ``severity``; ``failed``
with ``severity: temporary`` is a deferral (anymail's reading).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from emailhook.domain.events import EmailEvent, ParsedBody, Shape
from emailhook.domain.instants import from_epoch_seconds
from emailhook.domain.vocabulary import BounceClass, EventType, RejectReason
from emailhook.providers._fields import (
    SeenTokens,
    address,
    load_json,
    mapping,
    provider_event,
    require_fresh,
    text,
)
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
from emailhook.providers.mailgun import legacy
from emailhook.providers.mailgun.forms import MULTIPART, URLENCODED, last, media_type, read_form
from emailhook.providers.mailgun.send import SEND_SETTINGS

#: ``event-data.event`` -> EventType
EVENT_TYPES: dict[str, EventType] = {
    "accepted": EventType.QUEUED,
    "rejected": EventType.REJECTED,
    "delivered": EventType.DELIVERED,
    "failed": EventType.BOUNCED,  #: DEFERRED when ``severity`` is temporary
    "opened": EventType.OPENED,
    "clicked": EventType.CLICKED,
    "unsubscribed": EventType.UNSUBSCRIBED,
    "complained": EventType.COMPLAINED,
}

#: ``severity`` of a failure -> BounceClass
SEVERITIES: dict[str, BounceClass] = {
    "permanent": BounceClass.HARD,
    "temporary": BounceClass.SOFT,
}

#: a failure's ``reason`` -> RejectReason when Mailgun did not even try: the address is on
#: one of its suppression lists already (not a new bounce)
SUPPRESSED_REASONS: dict[str, RejectReason] = {
    "suppress-bounce": RejectReason.BOUNCED,
    "suppress-unsubscribe": RejectReason.UNSUBSCRIBED,
    "suppress-complaint": RejectReason.SPAM,
}


#: a failure's ``reason`` -> BounceClass where it says more than ``severity``: ``old`` is a
#: message that ran out of retries (not the address's fault), the others refusals of the sender
REASON_CLASSES: dict[str, BounceClass] = {
    "old": BounceClass.SOFT,
    "espblock": BounceClass.BLOCK,
    "blacklisted": BounceClass.BLOCK,
}


class Mailgun(Provider):
    """Mailgun's signed webhooks (JSON, and the legacy form posts)."""

    name: ClassVar[str] = "mailgun"
    settings: ClassVar[tuple[ProviderSetting, ...]] = (
        ProviderSetting("signing_keys", "secrets", "the HTTP webhook signing keys"),
        ProviderSetting(
            "max_age_seconds", "number", "how old a signed timestamp may be", default=300.0
        ),
        *SEND_SETTINGS,
    )
    enabled_by: ClassVar[tuple[str, ...]] = ("signing_keys",)

    def __init__(self, values: ProviderValues, *, fetch: Fetch | None = None) -> None:
        super().__init__(values, fetch=fetch)
        self._keys = [key.encode() for key in values.get("signing_keys", ())]
        self._max_age = float(values.get("max_age_seconds", 300.0))
        # a token is fresh for max_age either side of its timestamp: remember it for both
        self._seen = SeenTokens(2 * self._max_age)

    def authenticate(self, request: WebhookRequest, now: datetime) -> None:
        stamp, token, signature = _signature_fields(request)
        if not stamp or not token or not signature:
            raise AuthenticationError("Mailgun: timestamp, token or signature missing")
        require_fresh(stamp, now, self._max_age, "Mailgun: timestamp")
        signed = f"{stamp}{token}".encode()
        expected = [
            hmac.new(key, signed, hashlib.sha256).hexdigest().encode() for key in self._keys
        ]
        if not any_secret_matches(signature.lower().encode(), expected):
            raise AuthenticationError("Mailgun: signature does not match")
        # recorded only once the signature holds, so forged tokens cannot fill the cache
        if not self._seen.bind(token, request.body, now):
            raise AuthenticationError("Mailgun: token replayed with another body")

    def parse(self, request: StoredRequest) -> ParsedBody:
        kind = media_type(request.content_type)
        if kind in (URLENCODED, MULTIPART):
            form = read_form(request.body, request.content_type)
            if not form.get("event"):
                raise UnreadableBodyError("Mailgun form body has no event field")
            return ParsedBody(Shape.PROVIDER, events=[legacy.event(form)])
        body = load_json(request.body, "Mailgun")
        data = mapping(body).get("event-data") if isinstance(body, Mapping) else None
        if not isinstance(data, Mapping) or not text(data.get("event")):
            raise UnreadableBodyError("Mailgun body has no event-data with an event")
        return ParsedBody(Shape.PROVIDER, events=[_event(data)])


def _signature_fields(request: WebhookRequest) -> tuple[str | None, str | None, str | None]:
    kind = media_type(request.content_type)
    try:
        if kind in (URLENCODED, MULTIPART):
            form = read_form(request.body, request.content_type)
            return last(form, "timestamp"), last(form, "token"), last(form, "signature")
        block = mapping(mapping(load_json(request.body, "Mailgun")).get("signature"))
    except UnreadableBodyError as error:
        raise AuthenticationError(f"Mailgun: {error}") from error
    return text(block.get("timestamp")), text(block.get("token")), text(block.get("signature"))


def message_id_of(value: object) -> str | None:
    """Return a Message-Id in angle brackets, as Mailgun's send API returned it."""
    found = text(value)
    if found and not found.startswith("<"):
        return f"<{found}>"
    return found


def _classify(
    status: str, data: Mapping[str, Any]
) -> tuple[EventType, BounceClass | None, RejectReason | None]:
    event_type = EVENT_TYPES.get(status, EventType.UNKNOWN)
    if event_type is EventType.REJECTED:
        return event_type, None, RejectReason.OTHER
    if event_type is not EventType.BOUNCED:
        return event_type, None, None
    reason = str(text(data.get("reason")))
    code = text(mapping(data.get("delivery-status")).get("code"))
    suppressed = SUPPRESSED_REASONS.get(reason) or legacy.SUPPRESSED_CODES.get(code or "")
    if suppressed:
        return EventType.REJECTED, None, suppressed
    severity = str(text(data.get("severity")))
    if severity == "temporary":
        return EventType.DEFERRED, BounceClass.SOFT, None  # sample failed_temporary.json
    bounce_class = REASON_CLASSES.get(reason) or SEVERITIES.get(severity)
    return event_type, bounce_class or BounceClass.UNDETERMINED, None


def _event(data: Mapping[str, Any]) -> EmailEvent:
    status = str(text(data.get("event")))
    event_type, bounce_class, reject_reason = _classify(status, data)
    headers = mapping(mapping(data.get("message")).get("headers"))
    # sample rejected.json: a rejection names no recipient, only the message's To header
    email = address(data.get("recipient")) or address(headers.get("to"))
    message_id = message_id_of(headers.get("message-id"))
    event_id = text(data.get("id"))
    stamp = text(data.get("timestamp"))
    if event_id:
        key = event_key("mailgun", event_id, email, status)
    else:
        key = event_key("mailgun", message_id, email, status, stamp)
    # sample delivery_status_none.json: "delivery-status": null
    delivery = mapping(data.get("delivery-status"))
    reject = mapping(data.get("reject"))
    return provider_event(
        "mailgun",
        key=key,
        event_type=event_type,
        status=status,
        email=email,
        message_id=message_id,
        event_at=from_epoch_seconds(data.get("timestamp")),
        raw=data,
        metadata=_variables(data.get("user-variables")),
        provider_event_id=event_id,
        bounce_class=bounce_class,
        reject_reason=reject_reason,
        url=text(data.get("url")),
        error_description=text(delivery.get("message")) if bounce_class else None,
        status_description=text(delivery.get("description")) or text(reject.get("reason")),
    )


def _variables(value: object) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str):  # seen as a JSON string in some exports
        try:
            parsed = json.loads(value)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}
