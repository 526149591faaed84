"""Postmark's webhooks: one JSON object per request, its kind in ``RecordType``.

Postmark signs nothing: the only proof is HTTP Basic credentials in the webhook URL. Only
Bounce and SpamComplaint carry an ``ID``; the other records are keyed by a digest of message,
recipient, record type and time. Hard or soft is read from a bounce's ``Type``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from emailhook.domain.events import EmailEvent, ParsedBody, Shape
from emailhook.domain.instants import parse_instant
from emailhook.domain.vocabulary import BounceClass, EventType, RejectReason
from emailhook.providers._basic import BasicAuthenticated
from emailhook.providers._fields import (
    BOUNCE_CLASS_TYPES,
    address,
    load_json,
    mapping,
    provider_event,
    text,
)
from emailhook.providers.base import (
    ProviderSetting,
    StoredRequest,
    UnreadableBodyError,
    event_key,
)
from emailhook.providers.postmark.send import SEND_SETTINGS

#: ``RecordType`` -> EventType (Bounce and SubscriptionChange are refined below)
RECORD_TYPES: dict[str, EventType] = {
    "Bounce": EventType.BOUNCED,
    "SpamComplaint": EventType.COMPLAINED,
    "Delivery": EventType.DELIVERED,
    "Open": EventType.OPENED,
    "Click": EventType.CLICKED,
    "SubscriptionChange": EventType.UNSUBSCRIBED,
}

_Mapped = tuple[EventType, BounceClass | None, RejectReason | None]

#: a Bounce's ``Type`` (or a SubscriptionChange's ``SuppressionReason``) -> (EventType,
#: BounceClass, RejectReason); anymail's table, with the class read from Postmark's names
BOUNCE_TYPES: dict[str, _Mapped] = {
    "HardBounce": (EventType.BOUNCED, BounceClass.HARD, None),
    "SoftBounce": (EventType.BOUNCED, BounceClass.SOFT, None),  #: may become HardBounce
    "Transient": (EventType.DEFERRED, BounceClass.SOFT, None),
    "DnsError": (EventType.DEFERRED, BounceClass.SOFT, None),  #: a temporary DNS error
    "OpenRelayTest": (EventType.DEFERRED, BounceClass.SOFT, None),
    "Unsubscribe": (EventType.UNSUBSCRIBED, None, None),  #: unsubscribe sent as a Bounce
    "Subscribe": (EventType.SUBSCRIBED, None, None),
    "AutoResponder": (EventType.AUTORESPONDED, None, None),
    "AddressChange": (EventType.AUTORESPONDED, None, None),
    "ChallengeVerification": (EventType.AUTORESPONDED, None, None),
    "SpamNotification": (EventType.COMPLAINED, None, None),
    "SpamComplaint": (EventType.COMPLAINED, None, None),
    "VirusNotification": (EventType.BOUNCED, BounceClass.BLOCK, None),
    "BadEmailAddress": (EventType.REJECTED, BounceClass.HARD, RejectReason.INVALID),
    "ManuallyDeactivated": (EventType.REJECTED, None, RejectReason.BLOCKED),
    "Unconfirmed": (EventType.REJECTED, None, RejectReason.OTHER),
    "Blocked": (EventType.REJECTED, BounceClass.BLOCK, RejectReason.BLOCKED),
    "DMARCPolicy": (EventType.REJECTED, BounceClass.BLOCK, RejectReason.BLOCKED),
    "SMTPApiError": (EventType.FAILED, None, None),
    "InboundError": (EventType.FAILED, None, None),
    "TemplateRenderingFailed": (EventType.FAILED, None, None),
    "ManualSuppression": (EventType.UNSUBSCRIBED, None, None),
    "Unknown": (EventType.UNKNOWN, BounceClass.UNDETERMINED, None),
}

#: event types that keep a bounce class: the usual ones, and UNKNOWN for a bounce of Type
#: "Unknown" (BOUNCE_TYPES), whose class is undetermined rather than absent
CLASSED_TYPES = BOUNCE_CLASS_TYPES | {EventType.UNKNOWN}

#: the time field of each record type, in the order looked for
TIME_FIELDS = ("BouncedAt", "DeliveredAt", "ReceivedAt", "ChangedAt")


class Postmark(BasicAuthenticated):
    """Postmark's tracking webhooks, behind HTTP Basic credentials."""

    name: ClassVar[str] = "postmark"
    settings: ClassVar[tuple[ProviderSetting, ...]] = (
        ProviderSetting("basic_auth", "secrets", "HTTP Basic user:password in the webhook URL"),
        *SEND_SETTINGS,
    )
    enabled_by: ClassVar[tuple[str, ...]] = ("basic_auth",)

    def parse(self, request: StoredRequest) -> ParsedBody:
        body = load_json(request.body, "Postmark")
        if not isinstance(body, Mapping) or not text(body.get("RecordType")):
            raise UnreadableBodyError("Postmark body is not an object with a RecordType")
        return ParsedBody(Shape.PROVIDER, events=[_event(body)])


def _classify(record_type: str, body: Mapping[str, Any]) -> _Mapped:
    event_type = RECORD_TYPES.get(record_type, EventType.UNKNOWN)
    if record_type == "Bounce":  # a Type this table does not know: a bounce of unknown class
        return BOUNCE_TYPES.get(str(body.get("Type")), (event_type, BounceClass.UNDETERMINED, None))
    if record_type == "SpamComplaint":
        return BOUNCE_TYPES.get(str(body.get("Type")), (event_type, None, None))
    if record_type == "SubscriptionChange":
        if body.get("SuppressSending") is False:  # sample resubscribe.json
            return EventType.SUBSCRIBED, None, None
        return BOUNCE_TYPES.get(str(body.get("SuppressionReason")), (event_type, None, None))
    return event_type, None, None


def _event(body: Mapping[str, Any]) -> EmailEvent:
    record_type = str(text(body.get("RecordType")))
    event_type, bounce_class, reject_reason = _classify(record_type, body)
    email = address(body.get("Email")) or address(body.get("Recipient"))
    message_id = text(body.get("MessageID"))
    stamp = next((text(body.get(name)) for name in TIME_FIELDS if text(body.get(name))), None)
    record_id = text(body.get("ID"))
    if record_id:
        key = event_key("postmark", record_id, record_type)
    else:
        # a SubscriptionChange has no ID: its direction (SuppressSending) is part of what it
        # is, or an unsubscribe and a resubscribe at the same instant would share a key
        direction = body.get("SuppressSending") if record_type == "SubscriptionChange" else None
        key = event_key("postmark", message_id, email, record_type, stamp, direction)
    status = text(body.get("Type")) if record_type == "Bounce" else record_type
    return provider_event(
        "postmark",
        key=key,
        event_type=event_type,
        status=status or record_type,
        email=email,
        message_id=message_id,
        event_at=parse_instant(stamp),
        raw=body,
        metadata=mapping(body.get("Metadata")),
        provider_event_id=record_id,
        bounce_class=bounce_class,
        reject_reason=reject_reason,
        url=text(body.get("OriginalLink")),
        error_description=text(body.get("Details")),
        status_description=text(body.get("Description")),
        # Postmark's "Unknown" bounce Type maps to UNKNOWN and keeps its UNDETERMINED class
        classed_types=CLASSED_TYPES,
    )
