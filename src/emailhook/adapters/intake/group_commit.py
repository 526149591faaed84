"""Group commit: many request threads, one writer thread, one transaction per batch.

A web process answers many requests at once, and each must wait until its body is committed.
Committing each body on its own costs a transaction (and on SQLite, a turn at the one write
lock) per request. Here the request threads hand their bodies to one writer thread, which
inserts everything that queued up meanwhile in a single transaction: under load the cost of a
commit is shared by the whole batch, and an idle request still commits at once.

Each request has a deadline. Until the writer holds the database's write lock, a request whose
deadline passes withdraws (and is answered 503, its body not kept); once the lock is held, the
writer keeps only the requests still waiting, so a body is never kept after its caller gave up.

Bodies go in with one statement per batch (``inbox.add_bodies``, SQL text built once). This is
the ``EMAILHOOK_INTAKE=database`` path; the default spool (``spool``) keeps bodies on local
disk instead.
"""

from __future__ import annotations

import enum
import os
import threading
from collections import deque
from collections.abc import Callable, Sequence

from sqlalchemy import Engine

from emailhook.adapters.inbox.bodies import add_bodies
from emailhook.domain.inbox import NewBody


class _State(enum.Enum):
    QUEUED = 1  #: waiting for the writer
    TAKEN = 2  #: in the writer's batch, which waits for the database
    COMMITTING = 3  #: the writer holds the lock and is inserting it: the commit decides
    WITHDRAWN = 4  #: its caller gave up before the insert: it will not be kept


class _Request:
    __slots__ = ("body", "done", "result", "state")

    def __init__(self, body: NewBody) -> None:
        self.body = body
        self.done = threading.Event()
        self.state = _State.QUEUED
        self.result: int | BaseException | None = None


#: called by an append once the database is ready: the bodies still wanted, now committed to
Claim = Callable[[], list[NewBody]]


class GroupCommitWriter:
    """Keeps bodies durably for many threads of one process; ``write`` returns the new id."""

    def __init__(self, engine: Engine, *, max_batch: int = 512) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._queue: deque[_Request] = deque()
        self._ready = threading.Condition()
        self._pid = -1

    def write(self, body: NewBody, timeout: float) -> int:
        """Commit ``body`` and return its id; raise TimeoutError if that takes over ``timeout``.

        After a TimeoutError the body has not been kept (the caller answers 503). Database
        errors are raised as SQLAlchemy raises them.
        """
        self._ensure_writer()
        request = _Request(body)
        with self._ready:
            self._queue.append(request)
            self._ready.notify()
        if not request.done.wait(timeout):
            with self._ready:
                if request.state in (_State.QUEUED, _State.TAKEN):
                    request.state = _State.WITHDRAWN
                    raise TimeoutError("the database did not take the body in time")
            # The insert is under way on a locked database: it takes milliseconds.
            request.done.wait()
        if isinstance(request.result, BaseException):
            raise request.result
        assert request.result is not None
        return request.result

    def _ensure_writer(self) -> None:
        # Servers fork their workers; a thread does not survive a fork, so start one per process.
        if self._pid != os.getpid():
            with self._ready:
                if self._pid != os.getpid():
                    self._queue.clear()
                    thread = threading.Thread(target=self._run, name="emailhook-group-commit")
                    thread.daemon = True
                    thread.start()
                    self._pid = os.getpid()

    def _run(self) -> None:
        while True:
            batch = self._take()
            if batch:
                self._commit(batch)

    def _take(self) -> list[_Request]:
        with self._ready:
            while not self._queue:
                self._ready.wait()
            batch: list[_Request] = []
            while self._queue and len(batch) < self._max_batch:
                request = self._queue.popleft()
                if request.state is _State.QUEUED:
                    request.state = _State.TAKEN
                    batch.append(request)
            return batch

    def _commit(self, batch: Sequence[_Request]) -> None:
        committing: list[_Request] = []

        def claim() -> list[NewBody]:
            with self._ready:
                for request in batch:
                    if request.state is _State.TAKEN:
                        request.state = _State.COMMITTING
                        committing.append(request)
            return [request.body for request in committing]

        try:
            ids = self._append(claim)
        except Exception as error:  # every request still waiting gets the database's error
            for request in committing or [r for r in batch if r.state is _State.TAKEN]:
                request.result = error
                request.done.set()
            return
        for request, body_id in zip(committing, ids, strict=True):
            request.result = body_id
            request.done.set()

    def _append(self, claim: Claim) -> list[int]:
        with self._engine.begin() as connection:
            bodies = claim()  # on SQLite, now that the write lock is ours (BEGIN IMMEDIATE)
            return add_bodies(connection, bodies) if bodies else []
