"""SparkPost's event webhooks: an array of ``{"msys": {"<class>_event": {...}}}`` behind HTTP
Basic, read into the one vocabulary.

SparkPost pings a new webhook with ``[{"msys": {}}]`` (anymail ``test_ping_event``); hard or
soft lives only in the event's ``bounce_class`` code (anymail maps every ``bounce`` to bounced).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

from emailhook.domain.events import EmailEvent, ParsedBody
from emailhook.domain.instants import from_epoch_seconds, parse_instant
from emailhook.domain.vocabulary import BounceClass, EventType, RejectReason
from emailhook.providers._basic import BasicAuthenticated
from emailhook.providers._batch import parse_items
from emailhook.providers._fields import (
    load_json,
    mapping,
    plain_address,
    provider_event,
    text,
)
from emailhook.providers.base import (
    ProviderSetting,
    StoredRequest,
    UnreadableBodyError,
    WebhookRequest,
    event_key,
)
from emailhook.providers.sparkpost.send import SEND_SETTINGS

NAME = "sparkpost"

#: SparkPost event ``type`` -> event type (anymail's table, plus ``initial_open``: see
#: ``_OPEN_FAMILY`` for why it cannot double an open)
EVENT_TYPES: dict[str, EventType] = {
    "injection": EventType.QUEUED,
    "delivery": EventType.DELIVERED,
    "delay": EventType.DEFERRED,
    "bounce": EventType.BOUNCED,
    "out_of_band": EventType.BOUNCED,  #: a bounce received after SparkPost's 250
    "spam_complaint": EventType.COMPLAINED,
    "policy_rejection": EventType.REJECTED,
    "generation_rejection": EventType.REJECTED,
    "generation_failure": EventType.FAILED,
    "open": EventType.OPENED,
    "initial_open": EventType.OPENED,
    "amp_open": EventType.OPENED,
    "amp_initial_open": EventType.OPENED,
    "click": EventType.CLICKED,
    "amp_click": EventType.CLICKED,
    "list_unsubscribe": EventType.UNSUBSCRIBED,
    "link_unsubscribe": EventType.UNSUBSCRIBED,
}

#: SparkPost ``bounce_class`` -> (bounce class, reject reason, event type it forces or None),
#: from SparkPost's "Bounce Classification Codes" (category Hard: 10, 30, 90; Soft: 20-24,
#: 40, 60, 70, 100; Block: 50-54; Admin: 25, 26, 80; Undetermined: 1) and anymail's reasons
BOUNCE_CLASSES: dict[str, tuple[BounceClass | None, RejectReason, EventType | None]] = {
    "1": (BounceClass.UNDETERMINED, RejectReason.OTHER, None),  #: Undetermined
    "10": (BounceClass.HARD, RejectReason.INVALID, None),  #: Invalid Recipient
    "20": (BounceClass.SOFT, RejectReason.BOUNCED, None),  #: Soft Bounce
    "21": (BounceClass.SOFT, RejectReason.BOUNCED, None),  #: DNS Failure
    "22": (BounceClass.SOFT, RejectReason.BOUNCED, None),  #: Mailbox Full
    "23": (BounceClass.SOFT, RejectReason.BOUNCED, None),  #: Too Large
    "24": (BounceClass.SOFT, RejectReason.TIMED_OUT, None),  #: Timeout
    "25": (BounceClass.BLOCK, RejectReason.BLOCKED, None),  #: Admin Failure (SparkPost policy)
    "26": (BounceClass.BLOCK, RejectReason.BLOCKED, None),  #: Smart Send Suppression
    "30": (BounceClass.HARD, RejectReason.BOUNCED, None),  #: Generic Bounce: No RCPT
    "40": (BounceClass.SOFT, RejectReason.BOUNCED, None),  #: Generic Bounce
    "50": (BounceClass.BLOCK, RejectReason.BLOCKED, None),  #: Mail Block
    "51": (BounceClass.BLOCK, RejectReason.SPAM, None),  #: Spam Block
    "52": (BounceClass.BLOCK, RejectReason.SPAM, None),  #: Spam Content
    "53": (BounceClass.BLOCK, RejectReason.OTHER, None),  #: Prohibited Attachment
    "54": (BounceClass.BLOCK, RejectReason.BLOCKED, None),  #: Relaying Denied
    "60": (BounceClass.SOFT, RejectReason.OTHER, EventType.AUTORESPONDED),  #: Auto-Reply
    "70": (BounceClass.SOFT, RejectReason.BOUNCED, None),  #: Transient Failure
    "80": (None, RejectReason.OTHER, EventType.SUBSCRIBED),  #: Subscribe
    "90": (BounceClass.HARD, RejectReason.UNSUBSCRIBED, EventType.UNSUBSCRIBED),  #: Unsubscribe
    "100": (BounceClass.SOFT, RejectReason.OTHER, EventType.AUTORESPONDED),  #: Challenge-Resp.
}

#: SparkPost sends ``initial_open`` (pixel at the top) *and* ``open`` (pixel at the bottom)
#: for one view, each with its own ``event_id``; anymail therefore leaves ``initial_open``
#: unmapped by default. Here both map to opened and share one key built from what the pair has
#: in common (message, recipient, second, client), never from ``event_id``.
_OPEN_FAMILY = frozenset({"open", "initial_open", "amp_open", "amp_initial_open"})
_REJECTIONS = frozenset({"policy_rejection", "generation_rejection"})


class SparkPost(BasicAuthenticated):
    """SparkPost: HTTP Basic credentials, batches of ``msys`` events."""

    name = NAME
    settings = (
        ProviderSetting("basic_auth", "secrets", "user:password pairs set on the webhook"),
        *SEND_SETTINGS,
    )
    enabled_by = ("basic_auth",)

    def control(self, request: WebhookRequest) -> str | None:
        try:
            body = orjson.loads(request.body)
        except orjson.JSONDecodeError:
            return None
        if isinstance(body, list) and body and all(item == {"msys": {}} for item in body):
            return "SparkPost ping"
        return None

    def parse(self, request: StoredRequest) -> ParsedBody:
        body = load_json(request.body, NAME)
        if not isinstance(body, list):
            raise UnreadableBodyError("SparkPost body is not a JSON array of msys events")
        # an initial_open/open pair often comes in one batch: one event stands for both
        return parse_items(body, _read)


def _read(item: object) -> EmailEvent | str | None:
    found = _unwrap(item)
    return _event(found) if isinstance(found, Mapping) else found


def _unwrap(item: object) -> Mapping[str, Any] | str | None:
    """Return the event inside ``{"msys": {...}}``, None for a ping, or why it is unreadable."""
    msys = item.get("msys") if isinstance(item, Mapping) else None
    if not isinstance(msys, Mapping):
        return "item has no msys object"
    if not msys:
        return None
    if len(msys) != 1:
        return f"msys holds {len(msys)} event classes, not one"
    ((event_class, event),) = msys.items()
    if event_class == "relay_message":
        return "an inbound relay message, not a tracking event"
    if not isinstance(event, Mapping) or not text(event.get("type")):
        return f"{event_class} has no type"
    return event


def _instant(value: object) -> datetime | None:
    # epoch seconds as a string ("1454442600", bounce_event.json), or ISO in generation
    # failures ("2018-10-11T23:24:45.000+00:00", generation_failure_event.json)
    return from_epoch_seconds(value) or parse_instant(value)


def _event(event: Mapping[str, Any]) -> EmailEvent:
    status = str(event["type"])
    event_type = EVENT_TYPES.get(status, EventType.UNKNOWN)
    bounce_class = reject_reason = None
    code = text(event.get("bounce_class"))
    if code is not None:
        bounce_class, reject_reason, forced = BOUNCE_CLASSES.get(
            code, (BounceClass.UNDETERMINED, RejectReason.OTHER, None)
        )
        event_type = forced or event_type
    reason = text(event.get("raw_reason")) or text(event.get("reason"))
    if status in _REJECTIONS:
        reject_reason = _rejection_reason(reason) or reject_reason or RejectReason.OTHER
    message_id = text(event.get("transmission_id"))
    email = plain_address(event.get("raw_rcpt_to")) or plain_address(event.get("rcpt_to"))
    event_id = text(event.get("event_id"))
    if status in _OPEN_FAMILY:
        opened = (event.get("timestamp"), event.get("user_agent"), event.get("ip_address"))
        key = event_key(NAME, message_id, email, "opened", *opened)
    elif event_id:
        # the type beside the id: a key never merges two kinds of event, whatever ids a
        # sender reuses (anymail's samples give a delivery and an injection one event_id)
        key = event_key(NAME, event_id, status)
    else:
        key = event_key(NAME, message_id, email, status, event.get("timestamp"))
    return provider_event(
        NAME,
        key=key,
        event_type=event_type,
        status=status,
        email=email,
        message_id=message_id,
        event_at=_instant(event.get("timestamp")),
        raw=event,
        metadata=mapping(event.get("rcpt_meta")) or None,
        provider_event_id=event_id,
        bounce_class=bounce_class,
        reject_reason=reject_reason,
        url=text(event.get("target_link_url")),
        error_description=reason,
    )


def _rejection_reason(reason: str | None) -> RejectReason | None:
    # "554 5.7.1 recipient address suppressed due to customer policy"
    # (generation_rejection_event.json): the address is on SparkPost's suppression list, which
    # holds hard bounces, complaints and unsubscribes without saying which; bounced is the
    # common cause and keeps the address suppressed without counting a new bounce.
    if reason and "suppressed" in reason.lower():
        return RejectReason.BOUNCED
    return None
