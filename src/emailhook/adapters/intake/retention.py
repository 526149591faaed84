"""Retention: processed inbox bodies deleted once they are older than the retention.

A body is kept after its events are stored so that it can be replayed; past the retention
(``EMAILHOOK_INBOX_RETENTION_DAYS``) a DONE body is deleted. Nothing derived reads the inbox:
``email_callback`` keeps each event's whole raw item (``raw_rest`` and the columns), and its
``inbox_id`` has no foreign key, so a prune rewrites no event. Dead-lettered, unrecognized
and pending bodies are never pruned: they wait for an operator or the worker.

Bodies go in small batches, each in a transaction of its own: on SQLite the one write lock is
held for one batch at a time (a few milliseconds), so the worker's stores interleave.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from emailhook.adapters.db.models import InboxBody
from emailhook.domain.inbox import BodyState

#: bodies per delete: one short transaction each
BATCH = 500


@dataclass(frozen=True, slots=True)
class Pruned:
    bodies: int
    batches: int


def prunable(session: Session, before: datetime) -> int:
    """Return how many DONE bodies were processed before ``before``."""
    return int(session.execute(select(func.count()).where(*_old(before))).scalar_one())


def prune(
    sessions: sessionmaker[Session],
    before: datetime,
    *,
    batch: int = BATCH,
    pause_seconds: float = 0.0,
) -> Pruned:
    """Delete DONE bodies processed before ``before``, ``batch`` a transaction; return how many."""
    total = batches = 0
    while True:
        with sessions.begin() as session:
            ids = list(
                session.execute(
                    select(InboxBody.id).where(*_old(before)).order_by(InboxBody.id).limit(batch)
                ).scalars()
            )
            if ids:
                session.execute(delete(InboxBody).where(InboxBody.id.in_(ids)))
        if not ids:
            return Pruned(total, batches)
        total, batches = total + len(ids), batches + 1
        if pause_seconds:
            time.sleep(pause_seconds)  # leave the write lock to the worker between batches


def _old(before: datetime) -> list[ColumnElement[bool]]:
    return [InboxBody.state == BodyState.DONE, InboxBody.processed_at < before]
