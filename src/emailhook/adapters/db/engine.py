"""Engines and sessions: SQLite (embedded default) or PostgreSQL, tuned for each."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from emailhook.adapters.db.sqlite_lock import WriterLock, install_writer_lock
from emailhook.settings import Settings


def create_db_engine(
    settings: Settings,
    *,
    lock_timeout_seconds: float,
    statement_timeout_seconds: float | None = None,
    read_only: bool = False,
) -> Engine:
    """Return an engine for the configured database; SQLite in WAL mode with a busy timeout.

    ``lock_timeout_seconds`` bounds waiting for a lock or a pooled connection;
    ``statement_timeout_seconds`` (PostgreSQL) bounds any one statement, for the web process.
    A ``read_only`` engine (the query API) can write nothing and, on SQLite, never takes the
    write lock: its reads do not hold up the worker.
    """
    url = settings.resolved_database_url
    if settings.uses_sqlite:
        return _sqlite_engine(url, settings, lock_timeout_seconds, read_only=read_only)
    dead_peer_ms = int(settings.database_dead_peer_seconds * 1000)
    # A process cut off mid-transaction holds its row locks (claimed bodies, rollup rows) until
    # the server notices: by default when TCP gives up, minutes to hours later. The server ends
    # such a session after this long idle in a transaction, and TCP gives up as soon.
    options = f"-c lock_timeout={int(lock_timeout_seconds * 1000)}"
    options += f" -c idle_in_transaction_session_timeout={dead_peer_ms}"
    options += f" -c tcp_user_timeout={dead_peer_ms}"  # the server's side of the socket
    options += f" -c tcp_keepalives_idle={max(1, dead_peer_ms // 3000)}"
    if statement_timeout_seconds:
        options += f" -c statement_timeout={int(statement_timeout_seconds * 1000)}"
    if read_only:
        options += " -c default_transaction_read_only=on"
    engine = create_engine(
        url,
        json_serializer=dumps_json,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=5,
        pool_timeout=lock_timeout_seconds,
        # libpq's connect_timeout is whole seconds, 2 at the least
        connect_args={
            "connect_timeout": max(2, round(lock_timeout_seconds)),
            "options": options,
            "tcp_user_timeout": dead_peer_ms,
            "keepalives_idle": max(1, round(settings.database_dead_peer_seconds / 3)),
            "keepalives_interval": max(1, round(settings.database_dead_peer_seconds / 9)),
        },
    )

    @event.listens_for(engine, "begin")
    def _on_begin_postgres(connection: Any) -> None:
        options = connection.get_execution_options()
        if options.get(LATER_DURABLE):
            connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
        wait = options.get(WAIT_SECONDS)
        if wait:
            milliseconds = int(wait * 1000)
            connection.exec_driver_sql(f"SET LOCAL lock_timeout = {milliseconds}")
            connection.exec_driver_sql(f"SET LOCAL statement_timeout = {milliseconds}")

    return engine


#: an execution option: True for a transaction whose commit need not wait for the disk,
#: because a later ordinary commit of the same process will (PostgreSQL: ``synchronous_commit
#: off``; SQLite in WAL mode: ``synchronous=NORMAL``). Both databases write their log in
#: order, so that later commit, flushed, makes every earlier one durable too; a crash before
#: it may lose these transactions, never a part of one. A campaign's upload writes its chunks
#: so: its last commit (the campaign started) is the durable one, before its answer.
LATER_DURABLE = "emailhook_later_durable"
#: an execution option: seconds a transaction of a long bulk operation may wait for a lock
#: and for each statement on PostgreSQL, past its engine's own bounds (the web's are 1 s, for
#: a webhook's answer; a campaign's upload, a minute long, must not be refused for one slow
#: chunk). On SQLite our own writers wait for each other without a bound (``sqlite_lock``);
#: this bounds the wait on any other (its busy timeout).
WAIT_SECONDS = "emailhook_wait_seconds"


def dialect_of(sessions: sessionmaker[Session]) -> str:
    """Return the name of the database ``sessions`` are bound to (``sqlite``, ``postgresql``)."""
    bind = sessions.kw.get("bind")
    if bind is None:
        raise ValueError("sessions bound to an engine are needed")
    return str(bind.dialect.name)


def patient(session: Session, *, wait_seconds: float, later_durable: bool = False) -> None:
    """Make ``session``'s transaction, not yet begun, wait up to ``wait_seconds`` for locks
    and statements (``WAIT_SECONDS``), and be ``LATER_DURABLE`` if ``later_durable``."""
    options: dict[str, Any] = {WAIT_SECONDS: wait_seconds}
    if later_durable:
        options[LATER_DURABLE] = True
    session.connection(execution_options=options)


def _sqlite_engine(
    url: str, settings: Settings, lock_timeout_seconds: float, *, read_only: bool
) -> Engine:
    path = url.removeprefix("sqlite:///")
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, json_serializer=dumps_json, connect_args={"timeout": lock_timeout_seconds}
    )
    busy_ms = int(lock_timeout_seconds * 1000)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        # Take transactions into our own hands (see the "begin" hook below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={settings.sqlite_synchronous}")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.execute(f"PRAGMA cache_size=-{settings.sqlite_cache_mb * 1024}")  # KiB
        cursor.execute("PRAGMA foreign_keys=ON")
        if read_only:
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    if path and path != ":memory:" and not read_only:  # a reader needs only WAL's snapshot
        install_writer_lock(engine, WriterLock(Path(f"{path}-writer.lock")))

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # The safety level cannot change inside a transaction: set before it (and again
        # after, by the next ordinary one), on the connection's own record.
        options = connection.get_execution_options()
        wanted = "NORMAL" if options.get(LATER_DURABLE) else settings.sqlite_synchronous
        record = connection.connection.info
        if record.get("synchronous", settings.sqlite_synchronous) != wanted:
            connection.exec_driver_sql(f"PRAGMA synchronous={wanted}")
            record["synchronous"] = wanted
        # a bulk write waits longer for a writer that is not ours (``WAIT_SECONDS``)
        wait_ms = int(options[WAIT_SECONDS] * 1000) if options.get(WAIT_SECONDS) else busy_ms
        if record.get("busy_ms", busy_ms) != wait_ms:
            connection.exec_driver_sql(f"PRAGMA busy_timeout={wait_ms}")
            record["busy_ms"] = wait_ms
        # BEGIN IMMEDIATE takes the write lock up front, waiting up to busy_timeout: a deferred
        # transaction that reads first and writes later fails at once with SQLITE_BUSY instead.
        # Readers only need a snapshot, which WAL gives them without any lock.
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def dumps_json(value: Any) -> str:
    """Return the text a JSON column stores for ``value`` (``None`` is JSON ``null``)."""
    # JSON columns hold every raw event: orjson is several times faster than json.dumps. It
    # writes no integer beyond 64 bits, which a sender's callbackData may hold (a Python
    # literal can): the standard library writes those, on that rare path only.
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def create_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def is_transient(error: BaseException) -> bool:
    """Return True for database errors that go away by themselves: locks, restarts, failover."""
    if isinstance(error, OperationalError):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


@dataclass(frozen=True, slots=True)
class Database:
    """An engine and its sessions."""

    engine: Engine
    sessions: sessionmaker[Session]


def open_database(
    settings: Settings,
    *,
    lock_timeout_seconds: float,
    statement_timeout_seconds: float | None = None,
) -> Database:
    """Return the configured database, migrated first when ``auto_migrate`` is on."""
    engine = create_db_engine(
        settings,
        lock_timeout_seconds=lock_timeout_seconds,
        statement_timeout_seconds=statement_timeout_seconds,
    )
    if settings.auto_migrate:
        migrate(settings)
    return Database(engine, create_session_factory(engine))


def open_read_only_database(settings: Settings) -> Database:
    """Return the configured database for queries: nothing it runs can write."""
    engine = create_db_engine(
        settings,
        lock_timeout_seconds=settings.web_lock_timeout_seconds,
        statement_timeout_seconds=settings.query_timeout_seconds,
        read_only=True,
    )
    return Database(engine, create_session_factory(engine))


def migrate(settings: Settings) -> None:
    """Bring the schema up to date, on a connection without the web's short timeouts."""
    # Imported here: Alembic adds about 10 MB to a process, and web processes started by
    # `emailhook serve` never migrate (the server migrates once, before it starts them).
    from emailhook.adapters.db.schema import upgrade

    engine = create_db_engine(settings, lock_timeout_seconds=settings.worker_lock_timeout_seconds)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


def check_database(engine: Engine) -> None:
    """Raise unless the database answers a trivial query."""
    with engine.connect() as connection:
        connection.exec_driver_sql("SELECT 1")


T = TypeVar("T")


class PerProcess(Generic[T]):
    """One Database (or anything holding connections) per process: connections must never
    cross a fork (Celery's prefork pool)."""

    def __init__(self, open_: Callable[[], T]) -> None:
        self._open = open_
        self._pid = -1
        self._database: T | None = None

    def get(self) -> T:
        database = self._database
        if database is not None and self._pid == os.getpid():
            return database
        with _OPENING:  # the threads of a process open (and migrate) once, not each
            if self._database is None or self._pid != os.getpid():
                self._database = self._open()
                self._pid = os.getpid()
            return self._database


def _new_opening_lock() -> None:
    # A child forked while a thread of its parent held the lock would wait for it forever.
    global _OPENING
    _OPENING = threading.RLock()


#: held while a PerProcess opens; reentrant, as one may open another (the dispatcher, its
#: database)
_OPENING = threading.RLock()
os.register_at_fork(after_in_child=_new_opening_lock)
