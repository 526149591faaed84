"""Infobip's blocklist webhook: an e-mail unsubscribe (BLOCK) or its undoing (UNBLOCK).

On many accounts an unsubscribe is not an ``UNSUBSCRIBED`` tracking event nor an entry of the
e-mail suppression list, but a BLOCK on the cross-channel blocklist, posted by the
subscriptions channel BLOCKLIST as ``{"results": [{"event", "receivedAt", "messageId",
"content": {"channel", "destination", "sender", "sourceType", "outboundMessageReference"}}]}``
(``blocklist_event_webhook__block_event_request_source_type_url_optout.json``).

``domain.parsing`` would read such a body as a batch of delivery reports with no address and
no status: a body must be checked here first (:func:`is_blocklist_body`). E-mail items become
:class:`EmailEvent` s; items of other channels are named, not stored as e-mail events.

Pure: stdlib and the domain only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from emailhook.domain.callback_data import callback_fields
from emailhook.domain.events import EmailEvent, EventKind, OtherChannelItem, RejectedItem
from emailhook.domain.instants import parse_instant
from emailhook.domain.recipients import has_address, set_aside
from emailhook.domain.vocabulary import EventType
from emailhook.providers._fields import mapping as _mapping
from emailhook.providers._fields import scalar_address as _address
from emailhook.providers._fields import scalar_text as _text
from emailhook.providers._fields import scalar_upper as _upper
from emailhook.providers.base import event_key
from emailhook.providers.infobip.channels import BLOCKLIST_PREFIX, UNKNOWN

#: what a blocklist event means, in the one vocabulary
EVENT_TYPES: Mapping[str, EventType] = {
    "BLOCK": EventType.UNSUBSCRIBED,  #: the address may no longer be mailed by this sender
    "UNBLOCK": EventType.SUBSCRIBED,  #: an unsubscribe undone
}

#: the ``provider`` column's value
PROVIDER = "infobip"


@dataclass(frozen=True, slots=True)
class BlocklistBatch:
    """What a blocklist body holds: e-mail events, other channels' items, unreadable items."""

    events: list[EmailEvent] = field(default_factory=list)
    other_channels: list[OtherChannelItem] = field(default_factory=list)
    rejected: list[RejectedItem] = field(default_factory=list)


def is_blocklist_item(item: object) -> bool:
    """Return True for a blocklist webhook item: ``event`` BLOCK/UNBLOCK and a ``content``."""
    if not isinstance(item, Mapping):
        return False
    event = item.get("event")
    return (
        isinstance(event, str)
        and event.strip().upper() in EVENT_TYPES
        and isinstance(item.get("content"), Mapping)
    )


def is_blocklist_body(body: Mapping[str, Any]) -> bool:
    """Return True when ``body`` is a blocklist webhook: a ``results`` list holding at least
    one blocklist item (the others, if any, are rejected by :func:`parse_blocklist`)."""
    results = body.get("results")
    return isinstance(results, list) and any(is_blocklist_item(item) for item in results)


def parse_blocklist(body: Mapping[str, Any]) -> BlocklistBatch:
    """Return the events of a blocklist body; a bad item is rejected, the others kept."""
    batch = BlocklistBatch()
    results = body.get("results")
    if not isinstance(results, list):
        return batch
    for index, item in enumerate(results):
        if not is_blocklist_item(item):
            batch.rejected.append(RejectedItem(index, "not a blocklist event"))
            continue
        channel = _upper(item["content"].get("channel")) or UNKNOWN
        if channel != "EMAIL":
            batch.other_channels.append(OtherChannelItem(index, BLOCKLIST_PREFIX + channel))
            continue
        reason = _unreadable(item)
        if reason:
            batch.rejected.append(RejectedItem(index, reason))
            continue
        event = blocklist_event(item)
        if has_address(event):
            batch.events.append(event)
        else:  # its destination is not an e-mail address: kept raw, counted, never stored
            batch.other_channels.append(set_aside(index))
    return batch


def _unreadable(item: Mapping[str, Any]) -> str | None:
    if not _text(item["content"].get("destination")):
        return "blocklist event has no destination"
    return None


def blocklist_event(item: Mapping[str, Any]) -> EmailEvent:
    """Return the event of one e-mail blocklist item (checked by :func:`is_blocklist_item`)."""
    content: Mapping[str, Any] = item["content"]
    reference = _mapping(content.get("outboundMessageReference"))
    status = _upper(item.get("event")) or ""
    message_id = _text(item.get("messageId"))
    email = _address(content.get("destination"))
    received_at = parse_instant(item.get("receivedAt"))
    key = event_key(
        "bl",
        status,
        message_id,
        email,
        received_at.isoformat() if received_at else _text(item.get("receivedAt")),
    )
    return EmailEvent(
        event_key=key,
        kind=EventKind.TRACKING,
        status=status,
        email=email,
        message_id=message_id,
        bulk_id=_text(reference.get("bulkId")),
        provider_event_id=None,
        event_at=received_at,
        sent_at=parse_instant(reference.get("sendAt")),
        # The spec shows no callbackData on a blocklist event; should one ever carry it, it
        # would be on the reference to the message it answers.
        **callback_fields(reference.get("callbackData")),
        raw=item if type(item) is dict else dict(item),
        provider=PROVIDER,
        event_type=EVENT_TYPES[status],
    )
