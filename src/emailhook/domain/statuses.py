"""Infobip's own status names, as ``email_callback.status`` keeps them for its events.

A report's status group (``status.groupName``, or its ``groupId``) and a tracking event's
``notificationType``. Other providers' own names stay in their modules; these are here because
the derived state and the dashboard's rates were built on them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping


class InfobipStatus(enum.StrEnum):
    # delivery report status groups
    PENDING = "PENDING"  #: sent, no final report yet
    UNDELIVERABLE = "UNDELIVERABLE"  #: bounced: ``error`` says whether for good
    DELIVERED = "DELIVERED"
    EXPIRED = "EXPIRED"  #: no final report before the message's validity ran out
    REJECTED = "REJECTED"  #: refused by Infobip before sending
    # tracking events' notificationType
    OPENED = "OPENED"
    CLICKED = "CLICKED"
    UNSUBSCRIBED = "UNSUBSCRIBED"
    COMPLAINED = "COMPLAINED"
    LATE_BOUNCE = "LATE_BOUNCE"  #: bounced after being reported DELIVERED
    # blocklist webhook events (``blocklist_event_webhook__...json``): an e-mail unsubscribe
    BLOCK = "BLOCK"  #: the address is on the blocklist: an unsubscribe
    UNBLOCK = "UNBLOCK"  #: taken off the blocklist: the unsubscribe undone


#: Infobip's status group ids, used when a report carries ``groupId`` but no ``groupName``.
STATUS_GROUPS: Mapping[int, InfobipStatus] = {
    1: InfobipStatus.PENDING,
    2: InfobipStatus.UNDELIVERABLE,
    3: InfobipStatus.DELIVERED,
    4: InfobipStatus.EXPIRED,
    5: InfobipStatus.REJECTED,
}

#: the notificationType values of e-mail tracking events
TRACKING_TYPES: tuple[InfobipStatus, ...] = (
    InfobipStatus.OPENED,
    InfobipStatus.CLICKED,
    InfobipStatus.UNSUBSCRIBED,
    InfobipStatus.COMPLAINED,
    InfobipStatus.LATE_BOUNCE,
)

#: the event values of blocklist webhook items
BLOCKLIST_EVENTS: tuple[InfobipStatus, ...] = (InfobipStatus.BLOCK, InfobipStatus.UNBLOCK)

#: Every ``email_callback.status`` Infobip sends: report status groups, tracking types and
#: blocklist events.
EVENT_STATUSES: tuple[str, ...] = (*STATUS_GROUPS.values(), *TRACKING_TYPES, *BLOCKLIST_EVENTS)
