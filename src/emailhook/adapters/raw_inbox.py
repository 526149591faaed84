"""Inbox inserts through the database driver itself, for the two hot write paths.

The web process's group commit and the spool promoter insert thousands of bodies a second.
Building SQLAlchemy statements costs more than the database takes to store a row (measured:
~90 us against ~25 us a row in batches of eight), so these take a raw DBAPI connection and
run one multi-row INSERT per chunk, in a transaction the caller's function shapes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import PoolProxiedConnection

from emailhook.adapters.inbox import NewBody
from emailhook.adapters.sqlite_lock import writer_lock

#: rows per INSERT: 7 parameters each stays far below SQLite's 32,766 variables
CHUNK_ROWS = 500

#: runs inside the transaction, with the cursor and the dialect's parameter marker
Work = Callable[[Any, str], list[int]]


class RawWriter:
    """Transactions on raw connections of ``engine``'s pool (checked out for each one)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    def transaction(self, work: Work) -> list[int]:
        """Run ``work`` in one transaction (on SQLite holding the write lock) and commit.

        Database errors are raised as SQLAlchemy raises them (OperationalError for a lock or a
        lost server), so callers handle one family of errors; the connection is then dropped.
        """
        dbapi_error = self._engine.dialect.loaded_dbapi.Error
        connection: PoolProxiedConnection | None = None
        try:
            connection = self._engine.raw_connection()
            if self.dialect == "sqlite":
                result = self._sqlite(connection, work)
            else:
                result = self._postgres(connection, work)
        except Exception as error:
            if connection is not None:
                connection.invalidate()
            if isinstance(error, dbapi_error):
                raise DBAPIError.instance(None, None, error, dbapi_error) from error
            raise
        connection.close()  # back to the pool
        return result

    def _sqlite(self, connection: PoolProxiedConnection, work: Work) -> list[int]:
        # Few calls into SQLite, each of which lets go of the GIL: getting it back can take a
        # switch interval while request threads run Python, and we hold the write lock meanwhile.
        lock = writer_lock(self._engine)
        cursor = connection.cursor()
        if lock:
            lock.acquire()
        try:
            cursor.execute("BEGIN IMMEDIATE")  # waits up to the busy timeout for others' locks
            try:
                result = work(cursor, "?")
                cursor.execute("COMMIT")
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
        finally:
            if lock:
                lock.release()
            cursor.close()
        return result

    def _postgres(self, connection: PoolProxiedConnection, work: Work) -> list[int]:
        cursor = connection.cursor()
        try:
            result = work(cursor, "%s")
            connection.commit()
            return result
        except BaseException:
            connection.rollback()
            raise
        finally:
            cursor.close()


def insert_bodies(cursor: Any, marker: str, bodies: Sequence[NewBody]) -> list[int]:
    """Insert ``bodies`` (one INSERT per chunk) and return their ids, in order."""
    ids: list[int] = []
    for start in range(0, len(bodies), CHUNK_ROWS):
        chunk = bodies[start : start + CHUNK_ROWS]
        row = "(" + ", ".join([marker] * 7) + ", 0, 0)"
        sql = _INSERT_MANY + ", ".join([row] * len(chunk))
        params: list[object] = []
        if marker == "?":
            for body in chunk:
                received = sqlite_datetime(body.received_at)
                params += (*_values(body), received, received)
            cursor.execute(sql, params)
            # A table without deletes of its newest rows gives max(rowid) + 1, + 2, ... under
            # the write lock, so the ids follow from last_insert_rowid().
            last = cursor.lastrowid
            if cursor.rowcount != len(chunk) or last is None:
                raise RuntimeError("SQLite did not report the inserted rows")
            ids += range(last - len(chunk) + 1, last + 1)
        else:
            for body in chunk:
                params += (*_values(body), body.received_at, body.received_at)
            # RETURNING gives the ids in the order of the VALUES rows.
            cursor.execute(sql + " RETURNING id", params)
            ids += [int(found[0]) for found in cursor.fetchall()]
    return ids


def save_spool_offset(cursor: Any, marker: str, name: str, offset: int, now: datetime) -> None:
    """Record that spool segment ``name`` is in the inbox up to ``offset`` bytes."""
    if marker == "?":
        cursor.execute(_SAVE_OFFSET_SQLITE, (name, offset, sqlite_datetime(now)))
    else:
        cursor.execute(_SAVE_OFFSET_POSTGRES, (name, offset, now))


def sqlite_datetime(instant: datetime) -> str:
    """The text form SQLAlchemy's SQLite DATETIME writes and reads: naive UTC."""
    return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _values(body: NewBody) -> tuple[object, ...]:
    return (body.body, body.shape, body.event_count, body.state.value, body.request_id)


_INSERT_MANY = (
    "INSERT INTO inbox_body (body, shape, event_count, state, request_id, received_at,"
    " available_at, deliveries, attempts) VALUES "
)
_SAVE_OFFSET = (
    "INSERT INTO spool_segment (name, promoted_offset, updated_at) VALUES ({m}, {m}, {m})"
    " ON CONFLICT (name) DO UPDATE"
    " SET promoted_offset = excluded.promoted_offset, updated_at = excluded.updated_at"
)
_SAVE_OFFSET_SQLITE = _SAVE_OFFSET.format(m="?")
_SAVE_OFFSET_POSTGRES = _SAVE_OFFSET.format(m="%s")
