"""Typed SQLAlchemy models, a module per part of the schema; every one is imported here, so
that ``Base.metadata`` knows every table. Schema changes go through the Alembic migrations
(``adapters/db/migrations``), which ``emailhook db check`` compares with these models."""

from emailhook.adapters.db.models.base import (
    NAMING_CONVENTION,
    PROVIDER_CHARS,
    VOCABULARY_CHARS,
    Base,
    BigId,
    JSONDocument,
    UTCDateTime,
    table_of,
)
from emailhook.adapters.db.models.campaigns import Campaign, CampaignMinute, DomainMinute
from emailhook.adapters.db.models.events import (
    ROLLUP_TEXT_CHARS,
    EmailCallback,
    EventPrune,
    EventRollup,
    FlaggedEvent,
    PlatformEventRow,
)
from emailhook.adapters.db.models.inbox import SPOOL_NAME_CHARS, InboxBody, SpoolSegment
from emailhook.adapters.db.models.messages import PUBLIC_ID_CHARS, Message, MessageRollup
from emailhook.adapters.db.models.outbox import (
    IdempotencyRecord,
    OutboxMessage,
    SendAttempt,
    SendCircuit,
    SendRateBucket,
)
from emailhook.adapters.db.models.reconciliation import ReconcileRun, ReconcileWatermark
from emailhook.adapters.db.models.state import (
    ContactEmailCount,
    ContactEmailState,
    SuppressedAddress,
    SuppressionEvidence,
    SuppressionLift,
    SuppressionRemoval,
)

__all__ = [
    "NAMING_CONVENTION",
    "PROVIDER_CHARS",
    "PUBLIC_ID_CHARS",
    "ROLLUP_TEXT_CHARS",
    "SPOOL_NAME_CHARS",
    "VOCABULARY_CHARS",
    "Base",
    "BigId",
    "Campaign",
    "CampaignMinute",
    "ContactEmailCount",
    "ContactEmailState",
    "DomainMinute",
    "EmailCallback",
    "EventPrune",
    "EventRollup",
    "FlaggedEvent",
    "IdempotencyRecord",
    "InboxBody",
    "JSONDocument",
    "Message",
    "MessageRollup",
    "OutboxMessage",
    "PlatformEventRow",
    "ReconcileRun",
    "ReconcileWatermark",
    "SendAttempt",
    "SendCircuit",
    "SendRateBucket",
    "SpoolSegment",
    "SuppressedAddress",
    "SuppressionEvidence",
    "SuppressionLift",
    "SuppressionRemoval",
    "UTCDateTime",
    "table_of",
]
