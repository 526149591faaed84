"""Retention: processed inbox bodies deleted once they are older than the retention.

A body is kept after its events are stored so that it can be replayed; past the retention
(``EMAILHOOK_INBOX_RETENTION_DAYS``) a DONE (or other-channel) body is deleted, and past
``EMAILHOOK_FAILED_BODY_RETENTION_DAYS`` (when set) a dead-lettered or unrecognized one that
nobody replayed. Nothing derived reads the inbox:
``email_callback`` keeps each event's whole raw item (``raw_rest`` and the columns), and its
``inbox_id`` has no foreign key, so a prune rewrites no event. Pending bodies are never pruned:
they wait for the worker.

Bodies go in small batches, each in a transaction of its own: on SQLite the one write lock is
held for one batch at a time (a few milliseconds), so the worker's stores interleave.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, false, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from emailhook.adapters.db.batches import BATCH, in_batches
from emailhook.adapters.db.models import InboxBody
from emailhook.domain.inbox import BodyState


@dataclass(frozen=True, slots=True)
class Pruned:
    bodies: int
    batches: int


#: bodies that reached the store (or carried no e-mail): kept to replay, then pruned
PROCESSED = (BodyState.DONE, BodyState.OTHER_CHANNEL)
#: bodies that did not: kept for an operator until replayed (or a retention of their own)
FAILED = (BodyState.DEAD, BodyState.UNRECOGNIZED)


def prunable(
    session: Session, before: datetime | None, failed_before: datetime | None = None
) -> int:
    """Return how many bodies a prune with these cutoffs would delete."""
    condition = _old(before, failed_before)
    return int(session.execute(select(func.count()).where(condition)).scalar_one())


def prune(
    sessions: sessionmaker[Session],
    before: datetime | None,
    *,
    failed_before: datetime | None = None,
    batch: int = BATCH,
    pause_seconds: float = 0.0,
    on_batch: Callable[[int], None] = lambda bodies: None,
) -> Pruned:
    """Delete processed bodies processed before ``before`` (and failed ones received before
    ``failed_before``), ``batch`` a transaction; return how many. A None cutoff prunes none."""
    done = in_batches(
        sessions,
        InboxBody.id,
        _old(before, failed_before),
        lambda session, ids: session.execute(delete(InboxBody).where(InboxBody.id.in_(ids))),
        batch=batch,
        pause_seconds=pause_seconds,
        on_batch=on_batch,
    )
    return Pruned(done.rows, done.batches)


def _old(before: datetime | None, failed_before: datetime | None) -> ColumnElement[bool]:
    conditions = []
    if before is not None:
        conditions.append(and_(InboxBody.state.in_(PROCESSED), InboxBody.processed_at < before))
    if failed_before is not None:
        conditions.append(and_(InboxBody.state.in_(FAILED), InboxBody.received_at < failed_before))
    return or_(false(), *conditions)
