"""One SQLite writer at a time, handed over at once instead of polled for.

SQLite lets one transaction write at a time; a waiting writer polls with sleeps of 1, 2, 5, 10,
... ms (its busy handler), so two busy processes spend most of their time asleep while the lock
is free. Our processes (web workers, Celery workers, relays) first take an exclusive ``flock``
on a file beside the database: the kernel wakes the next writer the moment the last one is done.
SQLite's own busy timeout still bounds waiting on anyone else (an operator's ``sqlite3``).

A process forks only while none of its threads writes (``_before_fork``): SQLite keeps the
locks of a process in memory, and a child forked while a thread of its parent held the write
lock inherits it as held by a connection it does not have, so no connection of the child can
ever write ("database is locked"). Celery's prefork pool forks a new pool process from the
worker, whose relay threads write, each time one dies.
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
        #: the file and thread lock the current holder took (released through the same)
        self._held: tuple[int, threading.Lock] | None = None
        #: the thread that holds it
        self._owner: int | None = None

    def acquire(self) -> None:
        fd, threads = self._handles()
        threads.acquire()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            threads.release()
            raise
        self._held = (fd, threads)
        self._owner = threading.get_ident()

    def release(self) -> None:
        held, self._held = self._held, None
        self._owner = None
        assert held is not None, "released a writer lock that is not held"
        fd, threads = held
        fcntl.flock(fd, fcntl.LOCK_UN)
        threads.release()

    def _handles(self) -> tuple[int, threading.Lock]:
        # A forked child shares the parent's open file, and so its flock: it needs its own.
        # The first threads of a process to write race here: one opens, under a lock; the
        # others use what it opened. (Each opening its own made two open files of the lock in
        # one process, and a release could unlock the one its acquire had not locked: a flock
        # held for ever, which the worker's own threads then waited for.)
        pid = os.getpid()
        if self._pid != pid:
            with _OPENING:
                if self._pid != pid:
                    self._threads = threading.Lock()
                    self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
                    self._pid = pid  # last: a thread that sees it sees the rest
        return self._fd, self._threads


def _before_fork() -> None:
    """Take the writers' lock of each SQLite file this process writes (one lock object a
    file: two open files of it in one thread would wait for each other), so that no thread
    is in a write transaction when the process forks. A lock the forking thread holds is
    passed over: it cannot wait for itself."""
    files: set[Path] = set()
    for lock in list(_LOCKS.values()):
        if lock._pid != os.getpid() or lock._path in files:
            continue
        files.add(lock._path)
        if lock._owner == threading.get_ident():
            continue
        lock.acquire()
        _FORKING.append(lock)


def _after_fork_in_parent() -> None:
    while _FORKING:
        _FORKING.pop().release()


def _after_fork_in_child() -> None:
    # the child opens its own file of each lock at its first write (``_handles``)
    for lock in _FORKING:
        lock._held = lock._owner = None
    _FORKING.clear()


#: the locks ``_before_fork`` took, given back on both sides of the fork
_FORKING: list[WriterLock] = []
os.register_at_fork(
    before=_before_fork,
    after_in_parent=_after_fork_in_parent,
    after_in_child=_after_fork_in_child,
)


def _new_opening_lock() -> None:
    # A child forked while a thread of its parent held the lock would wait for it forever.
    global _OPENING
    _OPENING = threading.Lock()


#: held while a process opens its handles of a writer lock
_OPENING = threading.Lock()
os.register_at_fork(after_in_child=_new_opening_lock)


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
