"""The relay's side of the inbox: which bodies are due for publishing, claimed and released."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from emailhook.adapters.db.models import InboxBody
from emailhook.domain.inbox import BodyState, Claimed


def count_in_flight(session: Session, now: datetime) -> int:
    """Return how many pending bodies are published (or backing off) and not yet due again."""
    stmt = select(func.count()).where(
        InboxBody.state == BodyState.PENDING, InboxBody.available_at > now
    )
    return int(session.execute(stmt).scalar_one())


def any_due(session: Session, now: datetime) -> bool:
    """Return True when some pending body is due for publishing at ``now``."""
    stmt = select(InboxBody.id).where(
        InboxBody.state == BodyState.PENDING, InboxBody.available_at <= now
    )
    return session.execute(stmt.limit(1)).first() is not None


def claim_due(session: Session, *, now: datetime, until: datetime, limit: int) -> list[Claimed]:
    """Mark up to ``limit`` due bodies as published until ``until`` and return them.

    Several relays may run at once: on PostgreSQL SKIP LOCKED hands each a different set; on
    SQLite the write lock serializes them.
    """
    due = (
        select(InboxBody.id)
        .where(InboxBody.state == BodyState.PENDING, InboxBody.available_at <= now)
        .order_by(InboxBody.available_at, InboxBody.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    stmt = (
        update(InboxBody)
        .where(InboxBody.id.in_(due.scalar_subquery()))
        .values(available_at=until, deliveries=InboxBody.deliveries + 1)
        .returning(InboxBody.id, InboxBody.event_count, InboxBody.deliveries)
    )
    rows = session.execute(stmt).all()
    return sorted((Claimed(*row) for row in rows), key=lambda c: c.id)


def release(session: Session, ids: Sequence[int], *, available_at: datetime) -> None:
    """Undo a claim whose publish failed: due again at ``available_at``, delivery not counted."""
    session.execute(
        update(InboxBody)
        .where(InboxBody.id.in_(ids), InboxBody.state == BodyState.PENDING)
        .values(available_at=available_at, deliveries=InboxBody.deliveries - 1)
    )
