"""SendGrid's Event Webhook: a JSON array of events, signed with ECDSA P-256.

SendGrid signs ``X-Twilio-Email-Event-Webhook-Timestamp`` + the raw body with its private key;
the public key is shown in its settings as base64 DER. ``sg_event_id`` is not trusted for
dedupe (it has been seen to change on retries and is absent on some unsubscribes), so the key is
a digest of the message, recipient, event, time and, for clicks, the URL.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from emailhook.domain.events import EmailEvent, ParsedBody
from emailhook.domain.instants import from_epoch_seconds
from emailhook.domain.vocabulary import BounceClass, EventType, RejectReason
from emailhook.providers._batch import named_events, parse_items
from emailhook.providers._fields import (
    address,
    load_json,
    provider_event,
    require_fresh,
    text,
)
from emailhook.providers._keys import load_public_key, verified_by_any
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
from emailhook.providers.sendgrid.send import SEND_SETTINGS

SIGNATURE_HEADER = "x-twilio-email-event-webhook-signature"
TIMESTAMP_HEADER = "x-twilio-email-event-webhook-timestamp"

#: SendGrid ``event`` -> EventType
EVENT_TYPES: dict[str, EventType] = {
    "processed": EventType.QUEUED,
    "deferred": EventType.DEFERRED,
    "delivered": EventType.DELIVERED,
    "bounce": EventType.BOUNCED,  #: hard bounce or block: see BOUNCE_CLASSES
    "dropped": EventType.REJECTED,  #: see REJECT_REASONS
    "open": EventType.OPENED,
    "click": EventType.CLICKED,
    "spamreport": EventType.COMPLAINED,
    "unsubscribe": EventType.UNSUBSCRIBED,
    "group_unsubscribe": EventType.UNSUBSCRIBED,
    "group_resubscribe": EventType.SUBSCRIBED,
}

#: a bounce's ``type`` -> BounceClass (``bounce`` is SendGrid's hard bounce, ``blocked`` a
#: refusal for reputation, ``expired`` a soft bounce that ran out of retries)
BOUNCE_CLASSES: dict[str, BounceClass] = {
    "bounce": BounceClass.HARD,
    "blocked": BounceClass.BLOCK,
    "expired": BounceClass.SOFT,
}

#: a drop's ``reason`` (lower-cased) -> RejectReason; the ``... Address`` reasons are
#: SendGrid's own suppression lists: already suppressed, not a new bounce
REJECT_REASONS: dict[str, RejectReason] = {
    "bounced address": RejectReason.BOUNCED,
    "unsubscribed address": RejectReason.UNSUBSCRIBED,
    "spam reporting address": RejectReason.SPAM,
    "invalid": RejectReason.INVALID,
    "invalid smtpapi header": RejectReason.OTHER,
    "spam content (if spam checker app enabled)": RejectReason.BLOCKED,
    "blocked": RejectReason.BLOCKED,
    "expired": RejectReason.TIMED_OUT,
}

#: SendGrid's own event fields: every other top-level key is a custom arg of the sender's
STANDARD_KEYS = frozenset(
    {
        "anymail_id",
        "asm_group_id",
        "attempt",
        "bounce_classification",
        "category",
        "cert_err",
        "email",
        "event",
        "ip",
        "marketing_campaign_id",
        "marketing_campaign_name",
        "marketing_campaign_split_id",
        "marketing_campaign_version",
        "mc_stats",
        "newsletter",
        "nlvx_campaign_id",
        "nlvx_campaign_split_id",
        "nlvx_user_id",
        "phase_id",
        "pool",
        "post_type",
        "reason",
        "response",
        "send_at",
        "sg_content_type",
        "sg_event_id",
        "sg_machine_open",
        "sg_message_id",
        "sg_template_id",
        "sg_template_name",
        "sg_user_id",
        "singlesend_id",
        "singlesend_name",
        "smtp-id",
        "status",
        "template_id",
        "timestamp",
        "tls",
        "type",
        "url",
        "url_offset",
        "useragent",
    }
)


def _load_key(value: str) -> ec.EllipticCurvePublicKey:
    key = load_public_key(value, "EMAILHOOK_SENDGRID_PUBLIC_KEYS")
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("a SendGrid verification key is an ECDSA public key")
    return key


class SendGrid(Provider):
    """SendGrid's signed Event Webhook."""

    name: ClassVar[str] = "sendgrid"
    settings: ClassVar[tuple[ProviderSetting, ...]] = (
        ProviderSetting(
            "public_keys",
            "secrets",
            "Event Webhook verification keys, base64 DER as SendGrid shows them",
        ),
        ProviderSetting(
            "max_age_seconds", "number", "how old a signed timestamp may be", default=600.0
        ),
        *SEND_SETTINGS,
    )
    enabled_by: ClassVar[tuple[str, ...]] = ("public_keys",)

    def __init__(self, values: ProviderValues, *, fetch: Fetch | None = None) -> None:
        super().__init__(values, fetch=fetch)
        self._keys = [_load_key(key) for key in values.get("public_keys", ())]
        self._max_age = float(values.get("max_age_seconds", 600.0))

    def authenticate(self, request: WebhookRequest, now: datetime) -> None:
        signature = request.headers.get(SIGNATURE_HEADER, "").strip()
        stamp = request.headers.get(TIMESTAMP_HEADER, "").strip()
        if not signature or not stamp:
            raise AuthenticationError("SendGrid signature or timestamp header missing")
        require_fresh(stamp, now, self._max_age, "SendGrid timestamp")
        try:
            der = base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError) as error:
            raise AuthenticationError("SendGrid signature is not base64") from error
        signed = stamp.encode() + request.body
        algorithm = ec.ECDSA(hashes.SHA256())
        if not verified_by_any(self._keys, lambda key: key.verify(der, signed, algorithm)):
            raise AuthenticationError("SendGrid signature does not verify")

    def parse(self, request: StoredRequest) -> ParsedBody:
        body = load_json(request.body, "SendGrid")
        if not isinstance(body, list):
            raise UnreadableBodyError("SendGrid body is not a JSON array of events")
        read = named_events(_event, reason="SendGrid event without an event name")
        # every event is kept, as sent: SendGrid's key has the time, a repeat is a redelivery
        return parse_items(body, read, unique=False)


def _event(item: Mapping[str, Any]) -> EmailEvent:
    status = str(text(item.get("event")))
    event_type = EVENT_TYPES.get(status, EventType.UNKNOWN)
    message_id = text(item.get("sg_message_id")) or text(item.get("smtp-id"))
    email = address(item.get("email"))
    url = text(item.get("url"))
    bounce_class = None
    reject_reason = None
    if event_type is EventType.BOUNCED:
        bounce_class = BOUNCE_CLASSES.get(str(text(item.get("type"))), BounceClass.UNDETERMINED)
    elif event_type is EventType.REJECTED:
        # sample dropped_bounced.json: the reason is in "reason"; older drops put it in "type"
        reason = text(item.get("reason")) or text(item.get("type")) or ""
        reject_reason = REJECT_REASONS.get(reason.lower(), RejectReason.OTHER)
    custom = {key: value for key, value in item.items() if key not in STANDARD_KEYS}
    key = event_key(
        "sendgrid",
        message_id,
        email,
        status,
        text(item.get("timestamp")),
        url if event_type is EventType.CLICKED else None,
    )
    return provider_event(
        "sendgrid",
        key=key,
        event_type=event_type,
        status=status,
        email=email,
        message_id=message_id,
        event_at=from_epoch_seconds(item.get("timestamp")),
        raw=item,
        metadata=custom,
        provider_event_id=text(item.get("sg_event_id")),
        bounce_class=bounce_class,
        reject_reason=reject_reason,
        url=url,
        error_description=text(item.get("reason")),
        status_description=text(item.get("response")),
    )
