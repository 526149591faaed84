"""Stored events: one row per event (``email_callback``), the prunes that deleted some,
providers' platform events, the hourly rollup."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from emailhook.adapters.db.models.base import (
    PROVIDER_CHARS,
    VOCABULARY_CHARS,
    Base,
    BigId,
    JSONDocument,
    UTCDateTime,
)


class EmailCallback(Base):
    """One e-mail event, stored once: a delivery report or a tracking event."""

    __tablename__ = "email_callback"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    #: the dedupe key (eventId where Infobip sends one, else a digest of the report's
    #: identifying fields) as 21 bytes: ``event_store.stored_key``
    event_key: Mapped[bytes] = mapped_column(LargeBinary(21), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str | None] = mapped_column(Text, index=True)
    email: Mapped[str | None] = mapped_column(Text)
    data_recebimento: Mapped[datetime] = mapped_column(UTCDateTime())
    id_externo: Mapped[str | None] = mapped_column(Text, index=True)
    qj_contact_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    event_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    bulk_id: Mapped[str | None] = mapped_column(Text)
    provider_event_id: Mapped[str | None] = mapped_column(Text)
    status_id: Mapped[int | None] = mapped_column(BigInteger)
    status_group_id: Mapped[int | None] = mapped_column(BigInteger)
    status_name: Mapped[str | None] = mapped_column(Text)
    status_description: Mapped[str | None] = mapped_column(Text)
    error_id: Mapped[int | None] = mapped_column(BigInteger)
    error_name: Mapped[str | None] = mapped_column(Text)
    error_description: Mapped[str | None] = mapped_column(Text)
    error_permanent: Mapped[bool | None] = mapped_column(Boolean)
    url: Mapped[str | None] = mapped_column(Text)
    campaign: Mapped[str | None] = mapped_column(Text)
    creditor_id: Mapped[str | None] = mapped_column(Text)
    creditor_name: Mapped[str | None] = mapped_column(Text)
    callback_data: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    #: the raw event less what the columns above give back (``domain.raw_event``): the raw
    #: item is kept once, and ``raw_event.restore`` gives it back whole. JSON text, not JSONB,
    #: on PostgreSQL too: never queried inside, and 228 bytes a row against JSONB's 263.
    #: NULL past ``EMAILHOOK_RAW_EVENT_RETENTION_DAYS`` (``adapters.store.raw_retention``)
    raw_rest: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: the body it came from; no foreign key: a pruned body leaves its events untouched
    inbox_id: Mapped[int | None] = mapped_column(BigId)
    #: the one vocabulary (``domain.vocabulary``): who sent it, what happened, how final
    provider: Mapped[str] = mapped_column(
        String(PROVIDER_CHARS), default="infobip", server_default="infobip"
    )
    event_type: Mapped[str] = mapped_column(
        String(VOCABULARY_CHARS), default="unknown", server_default="unknown"
    )
    bounce_class: Mapped[str | None] = mapped_column(String(VOCABULARY_CHARS))
    reject_reason: Mapped[str | None] = mapped_column(String(VOCABULARY_CHARS))

    __table_args__ = (
        # The soft-bounce rule reads one address's bounces of every provider:
        # WHERE email IN (...) AND event_type = 'bounced'; ``?email=`` (with or without
        # ``status=``) reads its leading column. (An index on email and status did that too
        # until migration 0010: 62 bytes an event and a sixth random btree on every insert.)
        Index("ix_email_callback_email_event_type", "email", "event_type"),
        # A receipt-time window's newest ids come from the index alone (``queries``); SQLite's
        # indexes hold the rowid (the id) already.
        Index("ix_email_callback_data_recebimento", "data_recebimento", postgresql_include=["id"]),
    )


class EventPrune(Base):
    """One prune of events past ``EMAILHOOK_EVENT_RETENTION_DAYS``: what it deleted. Derived
    state keeps what those events made; ``emailhook state rebuild`` reads this to refuse
    rebuilding it from the events that are left."""

    __tablename__ = "event_prune"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ran_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: events received before this were deleted
    received_before: Mapped[datetime] = mapped_column(UTCDateTime())
    events: Mapped[int] = mapped_column(Integer)


class FlaggedEvent(Base):
    """A stored event kept but set apart: left out of contact state and the suppression list.

    ``emailhook state rebuild`` flags the events a database holds from before an event
    whose recipient is not an e-mail address was set aside at receipt (issue 28): they stay,
    flagged, and no derived table counts them. No foreign key: a prune of old events leaves
    its flags, which name no row then.
    """

    __tablename__ = "flagged_event"

    #: the ``email_callback`` row
    event_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    #: why: ``not_an_address`` (``domain.recipients``)
    flag: Mapped[str] = mapped_column(String(32))
    flagged_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PlatformEventRow(Base):
    """An account-level event such as HIGH_BOUNCE_RATE_WARNING, stored once."""

    __tablename__ = "platform_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_key: Mapped[str] = mapped_column(String(128), unique=True)
    type: Mapped[str] = mapped_column(Text)
    provider_event_id: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    raw: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    inbox_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("inbox_body.id", ondelete="SET NULL")
    )


class EventRollup(Base):
    """Stored events counted per receipt hour, provider, event type, status, campaign and
    creditor, for the dashboard.

    The worker adds newly stored events in the transaction that stores them, so the counts
    equal ``email_callback`` grouped the same way, and a chart reads a few hundred rows instead
    of scanning a million events. Missing values are '' (a key column is never NULL, so that
    each key has one row); values are cut at ``ROLLUP_TEXT_CHARS``.
    """

    __tablename__ = "event_rollup"

    #: ``data_recebimento`` cut to the hour (UTC): tracking events carry no time of their own
    bucket_hour: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    provider: Mapped[str] = mapped_column(String(PROVIDER_CHARS), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(VOCABULARY_CHARS), primary_key=True)
    status: Mapped[str] = mapped_column(Text, primary_key=True)
    campaign: Mapped[str] = mapped_column(Text, primary_key=True)
    creditor_name: Mapped[str] = mapped_column(Text, primary_key=True)
    events: Mapped[int] = mapped_column(BigInteger)


#: longest status, campaign or creditor kept in a rollup key (a btree entry has a size limit)
ROLLUP_TEXT_CHARS = 200
