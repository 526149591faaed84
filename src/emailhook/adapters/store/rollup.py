"""The event rollup: newly stored events counted per hour, provider, event type, status,
campaign and creditor.

Added to in bulk, in the transaction that stores the events, from those events only: a
duplicate is never newly stored, so it never counts twice. Rows are aggregated per key first
(one statement row per key) and sorted, so that concurrent workers lock rows in one order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from emailhook.adapters.db.bulk import BulkInsert, Kind
from emailhook.adapters.db.models import ROLLUP_TEXT_CHARS, EmailCallback, EventRollup
from emailhook.adapters.store.events import StoredEvent
from emailhook.domain.buckets import Bucket, floor

RollupKey = tuple[datetime, str, str, str, str, str]


def key(
    received_at: datetime,
    provider: str,
    event_type: str,
    status: str | None,
    campaign: str | None,
    creditor: str | None,
) -> RollupKey:
    """Return the rollup key of one event: its receipt hour, and '' for what it lacks."""
    return (
        floor(received_at, Bucket.HOUR),
        provider,
        event_type,
        (status or "")[:ROLLUP_TEXT_CHARS],
        (campaign or "")[:ROLLUP_TEXT_CHARS],
        (creditor or "")[:ROLLUP_TEXT_CHARS],
    )


def record(session: Session, stored: Sequence[StoredEvent]) -> None:
    """Count newly stored events into the rollup."""
    add(
        session,
        Counter(
            key(
                s.origin.received_at,
                s.event.provider,
                s.event.event_type.value,
                s.event.status,
                s.event.campaign,
                s.event.creditor_name,
            )
            for s in stored
        ),
    )


def add(session: Session, counts: Counter[RollupKey]) -> None:
    """Add counts to the rollup: one upsert row per key."""
    if not counts:
        return
    rows = [(*rollup_key, n) for rollup_key, n in sorted(counts.items())]
    _ADD.execute(session.connection(), rows)


def rebuild(session: Session, batch_size: int = 20000) -> int:
    """Recompute the rollup from ``email_callback``; return the events read."""
    session.execute(delete(EventRollup))
    after, total = 0, 0
    while True:
        rows = session.execute(
            select(
                EmailCallback.id,
                EmailCallback.data_recebimento,
                EmailCallback.provider,
                EmailCallback.event_type,
                EmailCallback.status,
                EmailCallback.campaign,
                EmailCallback.creditor_name,
            )
            .where(EmailCallback.id > after)
            .order_by(EmailCallback.id)
            .limit(batch_size)
        ).all()
        if not rows:
            return total
        add(session, Counter(_keys(rows)))
        after, total = rows[-1][0], total + len(rows)


def _keys(rows: Iterable[Any]) -> Iterable[RollupKey]:
    for _, *values in rows:
        yield key(*values)


_ADD = BulkInsert(
    "event_rollup",
    [
        ("bucket_hour", Kind.TIME),
        ("provider", Kind.TEXT),
        ("event_type", Kind.TEXT),
        ("status", Kind.TEXT),
        ("campaign", Kind.TEXT),
        ("creditor_name", Kind.TEXT),
        ("events", Kind.BIGINT),
    ],
    "ON CONFLICT (bucket_hour, provider, event_type, status, campaign, creditor_name)"
    " DO UPDATE SET events = event_rollup.events + excluded.events",
)
