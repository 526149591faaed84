"""Event retention: events received before the cutoff deleted, and each prune recorded.

Past ``EMAILHOOK_EVENT_RETENTION_DAYS`` (by ``data_recebimento``) an ``email_callback`` row
goes. Contact state, suppressions (evidence, lifts, removals) and the rollup are not touched:
they keep what the events made, and are not recomputed. A rebuild from the events left would
lose that history, so every prune that deleted something leaves an ``event_prune`` row, which
``emailhook state rebuild`` reads to refuse (unless forced). Small batches, one transaction
each, with a pause: the worker's stores interleave.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from emailhook.adapters.db.models import EmailCallback, EventPrune

#: events per delete: one short transaction each
BATCH = 500


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
    total = 0
    while True:
        with sessions.begin() as session:
            ids = list(
                session.execute(
                    select(EmailCallback.id)
                    .where(EmailCallback.data_recebimento < before)
                    .order_by(EmailCallback.id)
                    .limit(batch)
                ).scalars()
            )
            if ids:
                session.execute(delete(EmailCallback).where(EmailCallback.id.in_(ids)))
                if not total:  # recorded with the first batch: no deletion goes unrecorded
                    session.add(EventPrune(ran_at=now, received_before=before, events=0))
                    session.flush()
                _count(session, before, len(ids))
        if not ids:
            return total
        total += len(ids)
        on_batch(len(ids))
        if pause_seconds:
            time.sleep(pause_seconds)  # leave the write lock to the worker between batches


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
