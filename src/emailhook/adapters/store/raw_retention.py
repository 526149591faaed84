"""Raw-event retention: an old event's ``raw_rest`` dropped (set NULL), its columns kept.

Past ``EMAILHOOK_RAW_EVENT_RETENTION_DAYS`` (by ``data_recebimento``, the receipt time) the
rest of the raw item that the columns do not give back goes; every column stays, so contact
state, suppressions, the rollup and the API's fields are untouched, and the dashboard shows
the raw event as the columns give it (``raw_event.restore`` of an empty rest). Rows go in
small batches, each its own transaction, with a pause: the worker's stores interleave.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, null, select, update
from sqlalchemy.orm import Session, sessionmaker

from emailhook.adapters.db.batches import BATCH, in_batches
from emailhook.adapters.db.models import EmailCallback


def _old(before: datetime) -> ColumnElement[bool]:
    return and_(EmailCallback.data_recebimento < before, EmailCallback.raw_rest.is_not(None))


def prunable(session: Session, before: datetime) -> int:
    """Return how many events received before ``before`` still keep a raw rest."""
    return int(session.execute(select(func.count()).where(_old(before))).scalar_one())


def prune(
    sessions: sessionmaker[Session],
    before: datetime,
    *,
    batch: int = BATCH,
    pause_seconds: float = 0.0,
    on_batch: Callable[[int], None] = lambda rows: None,
) -> int:
    """Drop the raw rest of events received before ``before``, ``batch`` a transaction;
    return how many."""
    return in_batches(
        sessions,
        EmailCallback.id,
        _old(before),
        lambda session, ids: session.execute(
            update(EmailCallback).where(EmailCallback.id.in_(ids)).values(raw_rest=null())
        ),
        batch=batch,
        pause_seconds=pause_seconds,
        on_batch=on_batch,
    ).rows
