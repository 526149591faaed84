"""Turn a decoded Infobip body into normalized events (Tolerant Reader: read what we need).

Infobip posts every channel's reports in the same shapes, so each item's channel is checked
first (``infobip.channels``): only e-mail items become events; SMS, WhatsApp, Viber, RCS,
Messages API and SMS click items are counted as other channels (``sms_dlr_v2_webhook.json``
would otherwise give events whose address is a phone number), and so are e-mail items whose
recipient is not an e-mail address by ``domain.addresses`` (channel ``NOT_AN_ADDRESS``:
``domain.recipients``). A blocklist body
(``blocklist_event_webhook__...json``) is read by ``infobip.blocklist``: as reports its items
have neither status nor address.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

from emailhook.domain.callback_data import as_int, callback_fields
from emailhook.domain.events import (
    EmailEvent,
    EventKind,
    OtherChannelItem,
    ParsedBody,
    PlatformEvent,
    RejectedItem,
    Shape,
)
from emailhook.domain.instants import from_epoch_millis, parse_instant
from emailhook.domain.recipients import has_address, set_aside
from emailhook.domain.statuses import STATUS_GROUPS
from emailhook.domain.vocabulary import BounceClass, EventType
from emailhook.providers._fields import boolean as _bool
from emailhook.providers._fields import mapping as _mapping
from emailhook.providers._fields import scalar_address as _address
from emailhook.providers._fields import scalar_text as _text
from emailhook.providers._fields import scalar_upper as _upper
from emailhook.providers.base import digest, event_key
from emailhook.providers.infobip.blocklist import is_blocklist_body, parse_blocklist
from emailhook.providers.infobip.channels import EMAIL, EMAIL_PLATFORM, UNKNOWN, channel_of
from emailhook.providers.infobip.mapping import EVENT_TYPES, vocabulary

#: channels whose items the e-mail reader reads: e-mail, and items no channel test names
#: (an e-mail report without ``to`` is still read, or rejected, as before: a report of another
#: channel always names itself by a phone number, ``contact``, ``channel`` or ``seenAt``)
_READ_AS_EMAIL = frozenset({EMAIL, EMAIL_PLATFORM, UNKNOWN})


def detect_shape(body: Mapping[str, Any]) -> Shape:
    """Return which of Infobip's body shapes ``body`` is."""
    if isinstance(body.get("results"), list):
        return Shape.DELIVERY_REPORTS
    if "notificationType" in body:
        return Shape.TRACKING_EVENT
    if "messageId" in body and isinstance(body.get("status"), Mapping):
        return Shape.BARE_REPORT
    details = body.get("eventDetails")
    if isinstance(details, Mapping) and isinstance(details.get("type"), str):
        return Shape.PLATFORM_EVENT
    return Shape.UNKNOWN


def count_events(body: Mapping[str, Any], shape: Shape) -> int:
    """Return how many events a body carries, without normalizing them."""
    if shape is Shape.DELIVERY_REPORTS:
        return len(body["results"])
    return 0 if shape is Shape.UNKNOWN else 1


def parse_body(body: Mapping[str, Any]) -> ParsedBody:
    """Return the normalized events of one body; a bad item is rejected, the others kept."""
    shape = detect_shape(body)
    if shape is Shape.DELIVERY_REPORTS:
        return _batch(body)
    if shape in (Shape.BARE_REPORT, Shape.TRACKING_EVENT):
        channel = channel_of(body)
        if channel not in _READ_AS_EMAIL:
            return ParsedBody(shape, other_channels=[OtherChannelItem(0, channel)])
    if shape is Shape.BARE_REPORT:
        reason = _unreadable_report(body)
        if reason:
            return ParsedBody(shape, rejected=[RejectedItem(0, reason)])
        return _one(shape, _delivery_report(body))
    if shape is Shape.TRACKING_EVENT:
        return _one(shape, _tracking_event(body))
    if shape is Shape.PLATFORM_EVENT:
        return ParsedBody(shape, platform_events=[_platform_event(body)])
    return ParsedBody(shape)


def _one(shape: Shape, event: EmailEvent) -> ParsedBody:
    if has_address(event):
        return ParsedBody(shape, events=[event])
    return ParsedBody(shape, other_channels=[set_aside(0)])  # kept raw, counted, not stored


def _batch(body: Mapping[str, Any]) -> ParsedBody:
    if is_blocklist_body(body):
        blocklist = parse_blocklist(body)
        return ParsedBody(
            Shape.DELIVERY_REPORTS,
            events=blocklist.events,
            rejected=blocklist.rejected,
            other_channels=blocklist.other_channels,
        )
    events: list[EmailEvent] = []
    rejected: list[RejectedItem] = []
    others: list[OtherChannelItem] = []
    for index, item in enumerate(body["results"]):
        channel = channel_of(item)
        if channel not in _READ_AS_EMAIL:
            others.append(OtherChannelItem(index, channel))
            continue
        reason = _unreadable_report(item)
        if reason:
            rejected.append(RejectedItem(index, reason))
            continue
        event = _delivery_report(item)
        if has_address(event):
            events.append(event)
        else:  # its recipient is not an e-mail address: kept raw, counted, never stored
            others.append(set_aside(index))
    return ParsedBody(
        Shape.DELIVERY_REPORTS, events=events, rejected=rejected, other_channels=others
    )


def _unreadable_report(item: object) -> str | None:
    if not isinstance(item, Mapping):
        return f"report is a JSON {type(item).__name__}, not an object"
    if not _text(item.get("messageId")) and not _text(item.get("to")):
        return "report has neither messageId nor to"
    return None


def _delivery_report(item: Mapping[str, Any]) -> EmailEvent:
    status = _mapping(item.get("status"))
    error = _mapping(item.get("error"))
    group_id = as_int(status.get("groupId"))
    # the status column holds the group (DELIVERED, ...); the status's own name is a detail
    group_name = _upper(status.get("groupName")) or STATUS_GROUPS.get(group_id or 0)
    message_id = _text(item.get("messageId"))
    email = _address(item.get("to"))
    done_at = parse_instant(item.get("doneAt"))
    error_id = as_int(error.get("id"))
    permanent = _bool(error.get("permanent"))
    event_type, bounce_class, reject_reason = vocabulary(group_name, error_id, permanent)
    status_detail = _text(status.get("name"))
    key = report_key(
        message_id,
        email,
        group_name,
        status_detail,
        done_at.isoformat() if done_at else _text(item.get("doneAt")),
        error_id,
    )
    return EmailEvent(
        event_key=key,
        kind=EventKind.DELIVERY_REPORT,
        status=group_name,
        email=email,
        message_id=message_id,
        bulk_id=_text(item.get("bulkId")),
        provider_event_id=None,
        event_at=done_at,
        sent_at=parse_instant(item.get("sentAt")),
        status_id=as_int(status.get("id")),
        status_group_id=group_id,
        status_name=status_detail,
        status_description=_text(status.get("description")),
        error_id=error_id,
        error_name=_text(error.get("name")),
        error_description=_text(error.get("description")),
        error_permanent=permanent,
        **callback_fields(item.get("callbackData")),
        raw=item if type(item) is dict else dict(item),
        event_type=event_type,
        bounce_class=bounce_class,
        reject_reason=reject_reason,
    )


def _tracking_event(body: Mapping[str, Any]) -> EmailEvent:
    event_id = _text(body.get("eventId"))
    notification = _upper(body.get("notificationType"))
    message_id = _text(body.get("messageId"))
    email = _address(body.get("recipient"))
    url = _text(body.get("url"))
    if event_id:
        key = _provider_key(event_id)
    else:
        # Older payloads (all of the seed's) have no eventId: a redelivery is then the same
        # type, message, recipient, send time and URL. Two opens of one e-mail without an
        # eventId are indistinguishable from a redelivery and are stored once.
        key = event_key("tr", notification, message_id, email, str(body.get("sendDateTime")), url)
    return EmailEvent(
        event_key=key,
        kind=EventKind.TRACKING,
        status=notification,
        email=email,
        message_id=message_id,
        bulk_id=_text(body.get("bulkId")),
        provider_event_id=event_id,
        event_at=None,  # tracking events carry no time of their own; sendDateTime is the send
        sent_at=from_epoch_millis(body.get("sendDateTime")),
        url=url,
        **callback_fields(body.get("callbackData")),
        raw=dict(body),
        event_type=EVENT_TYPES.get(notification or "", EventType.UNKNOWN),
        bounce_class=BounceClass.HARD if notification == "LATE_BOUNCE" else None,
    )


def _platform_event(body: Mapping[str, Any]) -> PlatformEvent:
    event_id = _text(body.get("eventId"))
    key = _provider_key(event_id) if event_id else "pe:" + digest(_canonical(body))
    return PlatformEvent(
        event_key=key,
        type=_upper(_mapping(body.get("eventDetails")).get("type")) or "UNKNOWN",
        provider_event_id=event_id,
        raw=dict(body),
    )


def _canonical(body: Mapping[str, Any]) -> bytes:
    try:
        return orjson.dumps(body, default=str)
    except orjson.JSONEncodeError:  # nested deeper than orjson writes (254), though it reads 1023
        return repr(body).encode("utf-8", "surrogatepass")


def report_key(
    message_id: str | None,
    email: str | None,
    status_group: str | None,
    status_name: str | None,
    done_at: str | None,
    error_id: int | None,
) -> str:
    """Return the key of a delivery report: the same whichever way the report reaches us
    (the webhook, or Infobip's logs when reconciling)."""
    return event_key(
        "dr",
        message_id,
        email,
        status_group,
        status_name,
        done_at,
        str(error_id) if error_id is not None else None,
    )


def _provider_key(event_id: str) -> str:
    # Keys have a bounded column; an absurdly long eventId is digested instead of cut.
    return f"ev:{event_id}" if len(event_id) <= 100 else f"ev#{digest(event_id.encode())}"


__all__ = ["count_events", "datetime", "detect_shape", "parse_body"]
