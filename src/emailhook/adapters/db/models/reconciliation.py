"""Reconciliation's bookkeeping: the watermark and each run."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
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
