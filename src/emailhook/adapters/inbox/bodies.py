"""The inbox: every accepted body, and the bookkeeping that moves it to DONE or DEAD."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import orjson
from sqlalchemy import case, func, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from emailhook.adapters.db import body_encoding
from emailhook.adapters.db.bulk import BulkInsert, BulkUpdate, Kind, SelectByIds
from emailhook.adapters.db.engine import dumps_json
from emailhook.adapters.db.models import InboxBody, table_of
from emailhook.domain.inbox import BodyState, Claimed, Finished, NewBody, PendingBody


def add_bodies(connection: Connection | Session, bodies: Sequence[NewBody]) -> list[int]:
    """Insert accepted bodies in one statement and return their ids, in the order given."""
    if isinstance(connection, Session):
        connection = connection.connection()
    # Ids are handed out in the order of the rows; RETURNING need not list them in it.
    return sorted(int(row[0]) for row in _ADD_BODIES.returning(connection, _rows(bodies)))


def append_bodies(connection: Connection, bodies: Sequence[NewBody]) -> None:
    """Insert accepted bodies when their ids are not needed (executemany on SQLite)."""
    _APPEND_BODIES.execute(connection, _rows(bodies))


def _rows(bodies: Sequence[NewBody]) -> list[tuple[object, ...]]:
    return [_row(b, *body_encoding.encode(b.body)) for b in bodies]


def _row(b: NewBody, stored: bytes, encoding: int) -> tuple[object, ...]:
    return _ADD_BODIES.row(
        {
            "body": stored,
            "body_encoding": encoding,
            "shape": b.shape,
            "event_count": b.event_count,
            "state": b.state.value,
            "request_id": b.request_id,
            "received_at": b.received_at,
            "available_at": b.received_at,  # available at once
            "deliveries": 0,  # never published
            "attempts": 0,  # never failed
            "provider": b.provider,
            "content_type": b.content_type,
            "headers": dumps_json(dict(b.headers)) if b.headers else None,
        }
    )


#: what a new body has; the rest of its row is filled in as it moves along
_NEW_BODY_COLUMNS = (
    "body",
    "body_encoding",
    "shape",
    "event_count",
    "state",
    "request_id",
    "received_at",
    "available_at",
    "deliveries",
    "attempts",
    "provider",
    "content_type",
    "headers",
)
#: the hot write paths (spool promoter, group commit) insert thousands of bodies a second
_ADD_BODIES = BulkInsert.into(table_of(InboxBody), "RETURNING id", only=_NEW_BODY_COLUMNS)
_APPEND_BODIES = BulkInsert.into(table_of(InboxBody), only=_NEW_BODY_COLUMNS)


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


def load_pending(session: Session, ids: Iterable[int]) -> list[PendingBody]:
    """Return the bodies among ``ids`` that still wait to be stored (others are skipped)."""
    rows = _LOAD_PENDING.fetch(session.connection(), list(ids))
    return [
        PendingBody(
            id=body_id,
            body=body_encoding.decode(body, encoding),
            received_at=received_at,
            attempts=attempts,
            request_id=request_id,
            provider=provider,
            content_type=content_type,
            headers=_headers(headers),
        )
        for (
            body_id,
            body,
            encoding,
            received_at,
            attempts,
            request_id,
            provider,
            content_type,
            headers,
        ) in rows
    ]


def _headers(stored: object) -> dict[str, str]:
    # PostgreSQL's driver decodes JSONB; SQLite gives the JSON text
    if isinstance(stored, (str, bytes)):
        stored = orjson.loads(stored)
    return dict(stored) if isinstance(stored, dict) else {}


_LOAD_PENDING = SelectByIds(
    "inbox_body",
    [
        ("id", Kind.BIGINT),
        ("body", Kind.BYTES),
        ("body_encoding", Kind.INTEGER),
        ("received_at", Kind.TIME),
        ("attempts", Kind.INTEGER),
        ("request_id", Kind.TEXT),
        ("provider", Kind.TEXT),
        ("content_type", Kind.TEXT),
        ("headers", Kind.JSON),
    ],
    where=f"state = '{BodyState.PENDING.value}'",
)


_MARK_DONE = BulkUpdate(
    "inbox_body",
    ("id", Kind.BIGINT),
    [
        ("state", Kind.TEXT),
        ("processed_at", Kind.TIME),
        ("stored_events", Kind.INTEGER),
        ("rejected_items", Kind.INTEGER),
        ("other_items", Kind.INTEGER),
    ],
    also="last_error = NULL",
)


def mark_done(session: Session, finished: Sequence[Finished], *, now: datetime) -> None:
    """Record the end of many bodies in one statement."""
    _MARK_DONE.execute(
        session.connection(),
        [(f.id, f.state.value, now, f.stored, f.rejected, f.other) for f in finished],
    )


def mark_dead(session: Session, ids: Sequence[int], *, error: str, now: datetime) -> None:
    session.execute(
        update(InboxBody)
        .where(InboxBody.id.in_(ids), InboxBody.state == BodyState.PENDING)
        .values(state=BodyState.DEAD, last_error=error, processed_at=now)
    )


def record_failure(
    session: Session,
    body_id: int,
    *,
    error: str,
    now: datetime,
    max_attempts: int,
    retry_at: datetime,
) -> BodyState:
    """Count a failed attempt; return DEAD once the bound is reached, else PENDING."""
    attempts = InboxBody.attempts + 1
    stmt = (
        update(InboxBody)
        .where(InboxBody.id == body_id, InboxBody.state == BodyState.PENDING)
        .values(
            attempts=attempts,
            last_error=error,
            state=case((attempts >= max_attempts, BodyState.DEAD.value), else_=InboxBody.state),
            available_at=retry_at,
        )
        .returning(InboxBody.state)
    )
    state = session.execute(stmt).scalar_one_or_none()
    return BodyState(state) if state else BodyState.DONE


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


def backlog(session: Session) -> dict[str, int]:
    """Return the number of bodies in each state, and in all.

    Each state but DONE is an indexed count of the few bodies in it. DONE is counted too,
    unless PostgreSQL's statistics say the inbox holds more than ``COUNT_DONE_UP_TO`` bodies:
    then it is that estimate less the other states, and ``done_estimated`` is 1.
    """
    counts = count_states(session, [state for state in BodyState if state is not BodyState.DONE])
    others = sum(counts.values())
    estimate = _estimated_bodies(session)
    if estimate is not None and estimate > COUNT_DONE_UP_TO:
        counts[BodyState.DONE.value] = max(0, estimate - others)
        counts["done_estimated"] = 1
    else:
        counts.update(count_states(session, [BodyState.DONE]))
        counts["done_estimated"] = 0
    counts["accepted"] = sum(counts[state.value] for state in BodyState)
    # items of other channels (SMS, WhatsApp, ...) in any body, mixed batches included
    others_items = session.execute(
        select(func.coalesce(func.sum(InboxBody.other_items), 0)).where(InboxBody.other_items > 0)
    )
    counts["other_channel_items"] = int(others_items.scalar_one() or 0)
    return counts


def _estimated_bodies(session: Session) -> int | None:
    """PostgreSQL's estimate of the bodies kept (kept up by autovacuum), None elsewhere or
    before the table was first analysed."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    found = session.execute(
        text("SELECT reltuples FROM pg_class WHERE oid = 'inbox_body'::regclass")
    ).scalar_one_or_none()
    return None if found is None or found < 0 else int(found)
