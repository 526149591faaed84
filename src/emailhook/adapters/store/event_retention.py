"""Event retention: events received before the cutoff deleted, and each prune recorded.

Past ``EMAILHOOK_EVENT_RETENTION_DAYS`` (by ``data_recebimento``) an ``email_callback`` row
goes. Contact state, suppressions (evidence, lifts, removals) and the rollup are not touched:
they keep what the events made, and are not recomputed. A rebuild from the events left would
lose that history, so every prune that deleted something leaves an ``event_prune`` row, which
``emailhook state rebuild`` reads to refuse (unless forced). Small batches, one transaction
each, with a pause: the worker's stores interleave.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from emailhook.adapters.db.batches import BATCH, in_batches
from emailhook.adapters.db.models import EmailCallback, EventPrune


def prunable(session: Session, before: datetime) -> int:
    """Return how many events were received before ``before``."""
    stmt = select(func.count()).where(EmailCallback.data_recebimento < before)
    return int(session.execute(stmt).scalar_one())


def prune(
    sessions: sessionmaker[Session],
    before: datetime,
    *,
    now: datetime,
    batch: int = BATCH,
    pause_seconds: float = 0.0,
    on_batch: Callable[[int], None] = lambda events: None,
) -> int:
    """Delete the events received before ``before``, ``batch`` a transaction, and record the
    prune (when it deleted any); return how many."""
    recorded = False

    def delete_and_count(session: Session, ids: list[int]) -> None:
        nonlocal recorded
        session.execute(delete(EmailCallback).where(EmailCallback.id.in_(ids)))
        if not recorded:  # recorded with the first batch: no deletion goes unrecorded
            session.add(EventPrune(ran_at=now, received_before=before, events=0))
            session.flush()
            recorded = True
        _count(session, before, len(ids))

    done = in_batches(
        sessions,
        EmailCallback.id,
        EmailCallback.data_recebimento < before,
        delete_and_count,
        batch=batch,
        pause_seconds=pause_seconds,
        on_batch=on_batch,
    )
    return done.rows


def _count(session: Session, before: datetime, events: int) -> None:
    newest = (
        session.execute(
            select(EventPrune)
            .where(EventPrune.received_before == before)
            .order_by(EventPrune.id.desc())
        )
        .scalars()
        .first()
    )
    if newest is not None:
        newest.events += events


def pruned_before(session: Session) -> datetime | None:
    """Return the latest cutoff before which events were deleted (None: never pruned)."""
    return session.execute(select(func.max(EventPrune.received_before))).scalar_one()
