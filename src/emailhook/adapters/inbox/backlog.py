"""The operators' side of the inbox: counts by state, listing and showing bodies, replaying
them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from emailhook.adapters.db.models import InboxBody
from emailhook.domain.inbox import BodyState


def missing(session: Session, ids: Sequence[int]) -> list[int]:
    """Return the ids among ``ids`` that no body has (never accepted, or pruned)."""
    if not ids:
        return []
    found = set(session.execute(select(InboxBody.id).where(InboxBody.id.in_(ids))).scalars())
    return sorted(set(ids) - found)


def replay(
    session: Session,
    *,
    now: datetime,
    ids: Sequence[int] = (),
    states: Sequence[BodyState] = (),
) -> int:
    """Make dead, unrecognized (or any) bodies pending again; return how many."""
    conditions = []
    if ids:
        conditions.append(InboxBody.id.in_(ids))
    if states:
        conditions.append(InboxBody.state.in_(list(states)))
    if not conditions:
        return 0
    result = session.execute(
        update(InboxBody)
        .where(*conditions)
        .values(
            state=BodyState.PENDING,
            available_at=now,
            attempts=0,
            deliveries=0,
            last_error=None,
        )
        .returning(InboxBody.id)
    )
    return len(result.all())


def replay_next(
    session: Session, *, now: datetime, states: Sequence[BodyState], after: int, limit: int
) -> list[int]:
    """Make the first ``limit`` bodies in ``states`` with an id above ``after`` pending again;
    return their ids, ascending (empty: none is left)."""
    due = (
        select(InboxBody.id)
        .where(InboxBody.state.in_(list(states)), InboxBody.id > after)
        .order_by(InboxBody.id)
        .limit(limit)
    )
    ids = list(session.execute(due).scalars())
    if ids:
        replay(session, now=now, ids=ids, states=states)
    return ids


def list_bodies(session: Session, *, states: Sequence[BodyState], limit: int) -> list[InboxBody]:
    stmt = (
        select(InboxBody)
        .where(InboxBody.state.in_(list(states)))
        .order_by(InboxBody.id.desc())
        .limit(limit)
    )
    return list(session.execute(stmt).scalars())


def get_body(session: Session, body_id: int) -> InboxBody | None:
    return session.get(InboxBody, body_id)


def count_states(session: Session, states: Sequence[BodyState]) -> dict[str, int]:
    """Return how many bodies are in each of ``states``: one indexed count each."""
    return {
        state.value: int(
            session.execute(select(func.count()).where(InboxBody.state == state)).scalar_one()
        )
        for state in states
    }


#: an inbox holding more bodies than this (by PostgreSQL's own statistics) has its processed
#: bodies estimated, not counted: a count reads the whole state index (150 ms at 1.5 million
#: bodies, growing with the inbox; docs/growth.md), the other states are few and stay exact
COUNT_DONE_UP_TO = 200_000


def counts(session: Session) -> dict[str, int]:
    """Return the number of bodies in each state, and in all.

    Each state but DONE is an indexed count of the few bodies in it. DONE is counted too,
    unless PostgreSQL's statistics say the inbox holds more than ``COUNT_DONE_UP_TO`` bodies:
    then it is that estimate less the other states, and ``done_estimated`` is 1.
    """
    by_state = count_states(session, [state for state in BodyState if state is not BodyState.DONE])
    others = sum(by_state.values())
    estimate = _estimated_bodies(session)
    if estimate is not None and estimate > COUNT_DONE_UP_TO:
        by_state[BodyState.DONE.value] = max(0, estimate - others)
        by_state["done_estimated"] = 1
    else:
        by_state.update(count_states(session, [BodyState.DONE]))
        by_state["done_estimated"] = 0
    by_state["accepted"] = sum(by_state[state.value] for state in BodyState)
    # items of other channels (SMS, WhatsApp, ...) in any body, mixed batches included
    others_items = session.execute(
        select(func.coalesce(func.sum(InboxBody.other_items), 0)).where(InboxBody.other_items > 0)
    )
    by_state["other_channel_items"] = int(others_items.scalar_one() or 0)
    return by_state


def _estimated_bodies(session: Session) -> int | None:
    """PostgreSQL's estimate of the bodies kept (kept up by autovacuum), None elsewhere or
    before the table was first analysed."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    found = session.execute(
        text("SELECT reltuples FROM pg_class WHERE oid = 'inbox_body'::regclass")
    ).scalar_one_or_none()
    return None if found is None or found < 0 else int(found)
