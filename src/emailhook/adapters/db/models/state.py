"""Derived state: each contact's addresses, their status counts, the suppression list and
the evidence, lifts and removals behind it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from emailhook.adapters.db.models.base import (
    Base,
    BigId,
    UTCDateTime,
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
