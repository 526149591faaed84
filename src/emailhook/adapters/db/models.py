"""Typed SQLAlchemy models. Schema changes go through the Alembic migrations beside them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from emailhook.adapters.db import body_encoding
from emailhook.domain.inbox import REQUEST_ID_CHARS, BodyState

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: JSONB on PostgreSQL (indexable), JSON text elsewhere.
JSONDocument = JSON().with_variant(JSONB(), "postgresql")
#: BIGINT ids that are still SQLite's INTEGER PRIMARY KEY (rowid) there.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no offset of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: longest provider name (a registry name, ``unisender_go`` is the longest today)
PROVIDER_CHARS = 32
#: longest event type, bounce class or reject reason (``autoresponded``, ``undetermined``)
VOCABULARY_CHARS = 16


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def table_of(model: type[Base]) -> Table:
    """Return a model's table (typed as a Table, which ``__table__`` is not)."""
    return Base.metadata.tables[model.__tablename__]


class InboxBody(Base):
    """Every body answered 200, as received: the durable record that the queue is rebuilt from."""

    __tablename__ = "inbox_body"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: the body as stored, in ``body_encoding`` (``adapters.db.body_encoding``); read ``body``
    stored_body: Mapped[bytes] = mapped_column("body", LargeBinary)
    body_encoding: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    shape: Mapped[str] = mapped_column(String(32))
    event_count: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default=BodyState.PENDING)
    #: when the relay may (re)publish it: now for new bodies, later while in flight or backing off
    available_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: how often it was published to the queue; bounds bodies that kill the worker
    deliveries: Mapped[int] = mapped_column(Integer, default=0)
    #: how often processing it failed; bounds poison bodies
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    stored_events: Mapped[int | None] = mapped_column(Integer)
    rejected_items: Mapped[int | None] = mapped_column(Integer)
    #: items of other channels than e-mail (SMS, WhatsApp, ...): kept in the body, not stored
    other_items: Mapped[int | None] = mapped_column(Integer)
    request_id: Mapped[str | None] = mapped_column(String(REQUEST_ID_CHARS))
    #: who sent it (``POST /email`` and ``/webhooks/infobip``: infobip): the worker parses by it
    provider: Mapped[str] = mapped_column(
        String(PROVIDER_CHARS), default="infobip", server_default="infobip"
    )
    #: the Content-Type as sent, and the headers the provider's parsing reads (svix-id, ...)
    content_type: Mapped[str | None] = mapped_column(Text)
    headers: Mapped[dict[str, str] | None] = mapped_column(JSONDocument)

    @property
    def body(self) -> bytes:
        """The body as received, byte for byte."""
        return body_encoding.decode(self.stored_body, self.body_encoding)

    __table_args__ = (
        Index(
            "ix_inbox_body_pending",
            "available_at",
            "id",
            postgresql_where=text("state = 'pending'"),
            sqlite_where=text("state = 'pending'"),
        ),
        Index("ix_inbox_body_state", "state"),
        # the backlog's sum of other channels' items reads the few bodies that have any
        Index(
            "ix_inbox_body_other_items",
            "other_items",
            postgresql_where=text("other_items > 0"),
            sqlite_where=text("other_items > 0"),
        ),
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


class ContactEmailState(Base):
    """The derived status of one address of one contact, kept up to date by the worker.

    Merged from newly stored events only (see ``domain.email_status``): order-free, and a
    duplicate never counts twice because it is never newly stored.
    """

    __tablename__ = "contact_email_state"

    qj_contact_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    #: indexed for the dashboard's search by address (the key leads with the contact)
    email: Mapped[str] = mapped_column(Text, primary_key=True, index=True)
    status: Mapped[str] = mapped_column(String(32))
    status_rank: Mapped[int] = mapped_column(Integer)
    status_since: Mapped[datetime] = mapped_column(UTCDateTime())
    last_event_id: Mapped[int] = mapped_column(BigInteger)
    last_event_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_status: Mapped[str] = mapped_column(String(32))


class ContactEmailCount(Base):
    """How many events of each derived status one address of one contact has."""

    __tablename__ = "contact_email_count"

    qj_contact_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    email: Mapped[str] = mapped_column(Text, primary_key=True)
    status: Mapped[str] = mapped_column(String(32), primary_key=True)
    events: Mapped[int] = mapped_column(Integer)


class SuppressedAddress(Base):
    """An address that must not be mailed: the most severe active reason, since when, found by
    whom, and until when (a soft-bounce suppression ends by itself; reads skip it after that).

    Computed per address from ``suppression_evidence`` and ``suppression_lift`` (see
    ``domain.suppression``) whenever either changes: a row is a cache of a pure function.
    """

    __tablename__ = "suppression"

    email: Mapped[str] = mapped_column(Text, primary_key=True)
    reason: Mapped[str] = mapped_column(String(32))
    reason_rank: Mapped[int] = mapped_column(Integer)
    since: Mapped[datetime] = mapped_column(UTCDateTime())
    #: ``emailhook`` (our events) or ``infobip`` (its lists, imported by the sync)
    source: Mapped[str] = mapped_column(String(16), server_default="emailhook")
    until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SuppressionEvidence(Base):
    """Per address, reason and source: the first and latest time an event suppressed it."""

    __tablename__ = "suppression_evidence"

    email: Mapped[str] = mapped_column(Text, primary_key=True)
    reason: Mapped[str] = mapped_column(String(32), primary_key=True)
    source: Mapped[str] = mapped_column(String(16), primary_key=True)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SuppressionLift(Base):
    """Per address, the latest time each kind of lift happened (removal, UNBLOCK, delivery)."""

    __tablename__ = "suppression_lift"

    email: Mapped[str] = mapped_column(Text, primary_key=True)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    unblocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SuppressionRemoval(Base):
    """An operator took an address off the suppression list: who, when and why."""

    __tablename__ = "suppression_removal"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(Text, index=True)
    removed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    operator: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    #: what the list said when it was removed (reason and source), for the record
    was_reason: Mapped[str | None] = mapped_column(String(32))
    was_source: Mapped[str | None] = mapped_column(String(16))


class ReconcileWatermark(Base):
    """How far reconciliation has read a provider's logs without a gap: moved only by a run
    that completed, so a run that crashed half-way is read again from the same place."""

    __tablename__ = "reconcile_watermark"

    #: which logs: ``infobip_email_logs``
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    watermark: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ReconcileRun(Base):
    """One reconciliation run: its window, what it read, what was new (the webhook's loss)."""

    __tablename__ = "reconcile_run"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    #: None while running, or after a crash mid-run
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    since: Mapped[datetime] = mapped_column(UTCDateTime())
    until: Mapped[datetime] = mapped_column(UTCDateTime())
    #: what Infobip no longer keeps of the window asked for (a gap), when it did not
    gap_before: Mapped[datetime | None] = mapped_column(UTCDateTime())
    pages: Mapped[int] = mapped_column(Integer, default=0)
    logs_read: Mapped[int] = mapped_column(Integer, default=0)
    events_new: Mapped[int] = mapped_column(Integer, default=0)
    events_known: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    completed: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text)


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


#: longest spool segment name (a host name is at most 253 characters)
SPOOL_NAME_CHARS = 320


class SpoolSegment(Base):
    """How far a web process's spool file has been moved into the inbox.

    Updated in the transaction that inserts the bodies, so a segment's bodies reach the inbox
    exactly once whichever process moves them, and whenever it crashes. A segment's row stays
    after its file is deleted, so that a copy of the file recovered on another machine is not
    moved again.
    """

    __tablename__ = "spool_segment"

    #: the file's name in the spool folder: host, process id, start time, random part
    name: Mapped[str] = mapped_column(String(SPOOL_NAME_CHARS), primary_key=True)
    #: bytes of the file whose bodies are in the inbox
    promoted_offset: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
