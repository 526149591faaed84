"""Amazon SES event records into the one vocabulary: one event per recipient.

Both of SES's formats are read: "event publishing" (``eventType``, ten types) and the older
"notifications" (``notificationType``: Bounce, Complaint, Delivery); their objects are the same.
The SNS ``MessageId`` is shared by every recipient of a record, so the key adds the recipient
and the SES type.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from emailhook.domain.events import EmailEvent
from emailhook.domain.instants import parse_instant
from emailhook.domain.vocabulary import BounceClass, EventType, RejectReason
from emailhook.providers._fields import address, mapping, provider_event, text
from emailhook.providers.base import event_key

#: SES ``eventType`` / ``notificationType`` -> EventType
EVENT_TYPES: dict[str, EventType] = {
    "Send": EventType.SENT,
    "Reject": EventType.REJECTED,  #: SES found a virus: never sent
    "Bounce": EventType.BOUNCED,
    "Complaint": EventType.COMPLAINED,
    "Delivery": EventType.DELIVERED,
    "Open": EventType.OPENED,
    "Click": EventType.CLICKED,
    "Rendering Failure": EventType.FAILED,
    "DeliveryDelay": EventType.DEFERRED,
    "Subscription": EventType.UNSUBSCRIBED,  #: SUBSCRIBED when the preferences opt in
}

#: ``bounce.bounceType`` -> BounceClass
BOUNCE_CLASSES: dict[str, BounceClass] = {
    "Permanent": BounceClass.HARD,
    "Transient": BounceClass.SOFT,
    "Undetermined": BounceClass.UNDETERMINED,
}

#: ``bounceSubType`` / ``complaintSubType`` values meaning "SES did not send: the address is
#: on the account's (or SES's global) suppression list": a rejection, not a new bounce
SUPPRESSED_SUBTYPES = frozenset({"OnAccountSuppressionList", "Suppressed"})

#: the object of each type, where it is not the type's name lower-cased
OBJECT_NAMES: dict[str, str] = {"Rendering Failure": "failure", "DeliveryDelay": "deliveryDelay"}


def _object(record: Mapping[str, Any], ses_type: str) -> Mapping[str, Any]:
    return mapping(record.get(OBJECT_NAMES.get(ses_type, ses_type.lower())))


def _recipients(ses_type: str, detail: Mapping[str, Any], mail: Mapping[str, Any]) -> list[Any]:
    """Return ``(address, diagnostic)`` for each recipient the record is about."""
    listed = {
        "Bounce": "bouncedRecipients",
        "Complaint": "complainedRecipients",
        "DeliveryDelay": "delayedRecipients",
    }.get(ses_type)
    if listed and isinstance(detail.get(listed), list):
        return [
            (address(mapping(item).get("emailAddress")), text(mapping(item).get("diagnosticCode")))
            for item in detail[listed]
        ]
    if ses_type == "Delivery" and isinstance(detail.get("recipients"), list):
        return [(address(item), None) for item in detail["recipients"]]
    destination = mail.get("destination")
    return [(address(item), None) for item in destination] if isinstance(destination, list) else []


def _classify(
    ses_type: str, detail: Mapping[str, Any]
) -> tuple[EventType, BounceClass | None, RejectReason | None]:
    event_type = EVENT_TYPES.get(ses_type, EventType.UNKNOWN)
    if ses_type == "Bounce":
        bounce_class = BOUNCE_CLASSES.get(str(detail.get("bounceType")), BounceClass.UNDETERMINED)
        if detail.get("bounceSubType") in SUPPRESSED_SUBTYPES:
            return EventType.REJECTED, bounce_class, RejectReason.BOUNCED
        return event_type, bounce_class, None
    if ses_type == "Complaint" and detail.get("complaintSubType") in SUPPRESSED_SUBTYPES:
        return EventType.REJECTED, None, RejectReason.SPAM
    if ses_type == "Reject":
        return event_type, None, RejectReason.BLOCKED
    if ses_type == "Subscription":
        new = mapping(detail.get("newTopicPreferences"))
        topics = new.get("topicSubscriptionStatus") or []
        statuses = [mapping(topic).get("subscriptionStatus") for topic in topics]
        opted_out = new.get("unsubscribeAll") is True or "OptOut" in statuses
        return (EventType.UNSUBSCRIBED if opted_out else EventType.SUBSCRIBED), None, None
    return event_type, None, None


def first_values(tags: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``{"k": ["v", ...]}`` tags as ``{"k": "v"}`` (SES ``mail.tags``)."""
    out: dict[str, Any] = {}
    for key, value in tags.items():
        if isinstance(value, list):
            if value:
                out[str(key)] = value[0]
        else:
            out[str(key)] = value
    return out


def _metadata(mail: Mapping[str, Any]) -> dict[str, Any]:
    """Return the sender's metadata: an ``X-Metadata`` JSON header, then ``mail.tags``."""
    found: dict[str, Any] = {}
    for header in mail.get("headers") or []:
        header = mapping(header)
        if str(header.get("name", "")).lower() == "x-metadata":
            try:
                value = json.loads(str(header.get("value")))
            except ValueError:
                continue
            found.update(value if isinstance(value, dict) else {})
    found.update(first_values(mapping(mail.get("tags"))))
    return found


def _descriptions(ses_type: str, detail: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """Return (status_description, error_description) from the type's object."""
    if ses_type == "Bounce":
        kinds = [text(detail.get("bounceType")), text(detail.get("bounceSubType"))]
        return ": ".join(k for k in kinds if k) or None, None
    if ses_type == "Complaint":
        return text(detail.get("complaintFeedbackType")), None
    if ses_type == "Delivery":
        return text(detail.get("smtpResponse")), None
    if ses_type == "DeliveryDelay":
        return text(detail.get("delayType")), None
    if ses_type == "Reject":
        return None, text(detail.get("reason"))
    if ses_type == "Rendering Failure":
        return None, text(detail.get("errorMessage"))
    return None, None


def events(record: Mapping[str, Any], envelope: Mapping[str, Any]) -> list[EmailEvent]:
    """Return one event per recipient of an SES record carried by SNS ``envelope``."""
    ses_type = str(text(record.get("eventType")) or text(record.get("notificationType")))
    mail = mapping(record.get("mail"))
    detail = _object(record, ses_type)
    event_type, bounce_class, reject_reason = _classify(ses_type, detail)
    sns_id = text(envelope.get("MessageId"))
    message_id = text(mail.get("messageId"))
    event_at = parse_instant(detail.get("timestamp")) or parse_instant(envelope.get("Timestamp"))
    status_description, error_description = _descriptions(ses_type, detail)
    metadata = _metadata(mail)
    return [
        provider_event(
            "amazon_ses",
            key=event_key("amazon_ses", sns_id, email, ses_type),
            event_type=event_type,
            status=ses_type,
            email=email,
            message_id=message_id,
            event_at=event_at,
            raw={"ses": dict(record), "recipient": email},
            metadata=metadata,
            provider_event_id=sns_id,
            bounce_class=bounce_class,
            reject_reason=reject_reason,
            url=text(detail.get("link")),
            error_description=diagnostic or error_description,
            status_description=status_description,
            sent_at=parse_instant(mail.get("timestamp")),
        )
        for email, diagnostic in _recipients(ses_type, detail, mail)
    ]
