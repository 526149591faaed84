"""The normalized vocabulary every Infobip body is turned into."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from emailhook.domain.vocabulary import BounceClass, EventType, RejectReason


class Shape(enum.StrEnum):
    """The body shapes that reach ``POST /email``."""

    DELIVERY_REPORTS = "delivery_reports"  #: ``{"results": [...]}``, 0 to 2000 reports
    BARE_REPORT = "bare_report"  #: one report on its own: ``messageId`` + ``status`` object
    TRACKING_EVENT = "tracking_event"  #: ``notificationType``: OPENED, CLICKED, ...
    PLATFORM_EVENT = "platform_event"  #: ``eventDetails.type``: HIGH_BOUNCE_RATE_WARNING, ...
    UNKNOWN = "unknown"  #: valid JSON object of no known shape: kept raw for an operator
    PROVIDER = "provider"  #: a body of another provider (``POST /webhooks/<provider>``)


class EventKind(enum.StrEnum):
    DELIVERY_REPORT = "delivery_report"
    TRACKING = "tracking"


@dataclass(frozen=True, slots=True)
class EmailEvent:
    """One normalized e-mail event: a delivery report or a tracking event."""

    event_key: str
    kind: EventKind
    status: str | None
    email: str | None
    message_id: str | None
    bulk_id: str | None
    provider_event_id: str | None
    qj_contact_id: int | None
    event_at: datetime | None
    sent_at: datetime | None
    status_id: int | None = None
    status_group_id: int | None = None
    status_name: str | None = None
    status_description: str | None = None
    error_id: int | None = None
    error_name: str | None = None
    error_description: str | None = None
    error_permanent: bool | None = None
    url: str | None = None
    campaign: str | None = None
    creditor_id: str | None = None
    creditor_name: str | None = None
    callback_data: dict[str, Any] | None = None
    callback_data_raw: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    #: who sent it: ``infobip``, ``sendgrid``, ... (a provider module's ``name``)
    provider: str = "infobip"
    #: what happened, in the one vocabulary every provider maps onto
    event_type: EventType = EventType.UNKNOWN
    #: for bounces and rejections: how final, from the provider's own field
    bounce_class: BounceClass | None = None
    #: for rejections: why the provider refused or dropped the message
    reject_reason: RejectReason | None = None


@dataclass(frozen=True, slots=True)
class PlatformEvent:
    """An account-level event (e.g. ``HIGH_BOUNCE_RATE_WARNING``): kept, not an e-mail event."""

    event_key: str
    type: str
    provider_event_id: str | None
    raw: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RejectedItem:
    """An item of a batch that could not be read; the rest of the batch is stored."""

    index: int
    reason: str


@dataclass(frozen=True, slots=True)
class OtherChannelItem:
    """An item (or a whole body) of another channel than e-mail: SMS, WhatsApp, ...; or an
    e-mail event whose recipient is not an e-mail address (``domain.recipients``).

    Infobip posts every channel's reports in the same shapes; such an item is kept raw in its
    body and counted, never stored as an e-mail event.
    """

    index: int
    channel: str


@dataclass(frozen=True, slots=True)
class ParsedBody:
    shape: Shape
    events: list[EmailEvent] = field(default_factory=list)
    platform_events: list[PlatformEvent] = field(default_factory=list)
    rejected: list[RejectedItem] = field(default_factory=list)
    #: items of other channels than e-mail (``infobip.channels``) and items whose recipient
    #: is not an e-mail address (``domain.recipients``): counted, not stored
    other_channels: list[OtherChannelItem] = field(default_factory=list)
