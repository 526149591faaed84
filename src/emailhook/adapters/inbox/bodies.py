"""The inbox: every accepted body, and the bookkeeping that moves it to DONE or DEAD."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import orjson
from sqlalchemy import case, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from emailhook.adapters.db import body_encoding
from emailhook.adapters.db.bulk import BulkInsert, BulkUpdate, Kind
from emailhook.adapters.db.bulk_reads import SelectByIds
from emailhook.adapters.db.engine import dumps_json
from emailhook.adapters.db.models import InboxBody, table_of
from emailhook.domain.inbox import BodyState, Finished, NewBody, PendingBody


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
