"""One SQLite writer at a time, handed over at once instead of polled for.

SQLite lets one transaction write at a time; a waiting writer polls with sleeps of 1, 2, 5, 10,
... ms (its busy handler), so two busy processes spend most of their time asleep while the lock
is free. Our processes (web workers, Celery workers, relays) first take an exclusive ``flock``
on a file beside the database: the kernel wakes the next writer the moment the last one is done.
SQLite's own busy timeout still bounds waiting on anyone else (an operator's ``sqlite3``).
"""

from __future__ import annotations

import fcntl
import os
import threading
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

_HELD = "emailhook_write_lock"
#: the lock of each SQLite engine, for code that writes on a raw connection
_LOCKS: weakref.WeakKeyDictionary[Engine, WriterLock] = weakref.WeakKeyDictionary()


class WriterLock:
    """An exclusive lock across every thread and process that writes one SQLite file."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._pid = -1
        self._threads = threading.Lock()
        self._fd = -1

    def acquire(self) -> None:
        self._reopen_after_fork()
        self._threads.acquire()
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise

    def release(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._threads.release()

    def _reopen_after_fork(self) -> None:
        # A forked child shares the parent's open file, and so its flock: it needs its own.
        if self._pid != os.getpid():
            self._threads = threading.Lock()
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()


def writer_lock(engine: Engine) -> WriterLock | None:
    """Return the writer lock of a SQLite engine (None for other databases)."""
    return _LOCKS.get(engine)


def install_writer_lock(engine: Engine, lock: WriterLock) -> None:
    """Take ``lock`` when a transaction begins; give it back when the connection is returned."""
    _LOCKS[engine] = lock

    @event.listens_for(engine, "begin")
    def _take(connection: Any) -> None:
        info = connection.connection.info
        if not info.get(_HELD):
            lock.acquire()
            info[_HELD] = True

    @event.listens_for(engine, "checkin")
    def _give_back(_dbapi_connection: Any, record: Any) -> None:
        if record.info.pop(_HELD, False):
            lock.release()

    @event.listens_for(engine, "invalidate")
    def _give_back_lost(_dbapi_connection: Any, record: Any, _error: Any) -> None:
        if record.info.pop(_HELD, False):
            lock.release()
