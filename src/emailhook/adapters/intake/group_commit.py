"""Group commit into the inbox: many waiters, one writer thread, one transaction per batch.

A web process answers many requests at once, and each must wait until its body is kept.
Keeping each body on its own costs a transaction (and on SQLite, a turn at the one write lock)
or a sync per request. Here the waiters hand their bodies to one writer thread, which keeps
everything that queued up meanwhile at once: under load the cost is shared by the whole batch,
and an idle request is kept at once.

A waiter is a thread (``write``: it sleeps on an event) or a coroutine of an event loop
(``write_async``: it awaits a future, and the writer wakes every coroutine of a batch with one
hand-off to their loop). The webhook front serves its requests as coroutines, so that no
thread sleeps per body (docs/performance.md, "Ingest").

Each request may have a deadline. Until the writer claims the batch (the database's write lock
held), a request whose deadline passes withdraws (and is
answered 503, its body not kept); once claimed, the writer keeps only the requests still
waiting, so a body is never kept after its caller gave up.

``GroupCommitWriter`` is the ``EMAILHOOK_INTAKE=database`` path (one statement per batch,
``inbox.add_bodies``); the default spool's group commit is ``spool_commit``.
"""

from __future__ import annotations

import asyncio
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
    COMMITTING = 3  #: claimed by the writer: the commit decides
    WITHDRAWN = 4  #: its caller gave up before the claim: it will not be kept


class _Request:
    __slots__ = ("body", "event", "future", "result", "state")

    def __init__(self, body: NewBody, future: asyncio.Future[int | None] | None) -> None:
        self.body = body
        self.state = _State.QUEUED
        self.result: int | BaseException | None = None
        #: a waiting thread's, or None for a coroutine (which awaits ``future``)
        self.event = threading.Event() if future is None else None
        self.future = future


#: called by an append once the storage is ready: the bodies still wanted, now committed to
Claim = Callable[[], list[NewBody]]


class GroupCommit:
    """Keeps bodies durably for many waiters of one process, a batch at a time.

    Subclasses say how a batch is kept (``_append``); ``write`` and ``write_async`` return
    what it returns for the body (an inbox id, or None for a body that has none yet).
    """

    def __init__(
        self,
        *,
        max_batch: int = 512,
        max_batch_bytes: int = 8 * 1024 * 1024,
        name: str = "emailhook-group-commit",
    ) -> None:
        self._max_batch = max_batch
        self._max_bytes = max_batch_bytes
        self._name = name
        self._queue: deque[_Request] = deque()
        #: coroutines' requests of the loop's current turn, not handed to the writer yet
        self._pending: dict[asyncio.AbstractEventLoop, list[_Request]] = {}
        self._ready = threading.Condition()
        self._pid = -1

    def write(self, body: NewBody, timeout: float | None) -> int | None:
        """Keep ``body``; raise TimeoutError if that takes over ``timeout`` (None: no limit).

        After a TimeoutError the body has not been kept (the caller answers 503). Errors of
        the storage are raised as it raises them.
        """
        request = self._submit(body, None)
        assert request.event is not None
        if not request.event.wait(timeout):
            self._withdraw(request)
            request.event.wait()  # claimed: the append is under way, it decides
        return self._outcome(request)

    async def write_async(self, body: NewBody, timeout: float | None) -> int | None:
        """``write`` for a coroutine: it awaits the batch's end without holding a thread.

        The bodies of a loop's coroutines are handed to the writer together, once per turn of
        the loop (a thread wakes once for all of them, not once each).
        """
        self._ensure_writer()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int | None] = loop.create_future()
        request = _Request(body, future)
        pending = self._pending.get(loop)
        if pending is None:  # the first of this turn: hand them over once the turn's work is done
            self._pending[loop] = pending = []
            loop.call_soon(self._hand_over, loop)
        pending.append(request)
        if timeout is None:
            return await future
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            self._withdraw(request)
            return await future

    def _submit(self, body: NewBody, future: asyncio.Future[int | None] | None) -> _Request:
        self._ensure_writer()
        request = _Request(body, future)
        with self._ready:
            self._queue.append(request)
            self._ready.notify()
        return request

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        requests = self._pending.pop(loop)
        with self._ready:
            self._queue.extend(requests)
            self._ready.notify()

    def _withdraw(self, request: _Request) -> None:
        """Give ``request`` up unless the writer claimed it; raise TimeoutError if given up."""
        with self._ready:
            if request.state in (_State.QUEUED, _State.TAKEN):
                request.state = _State.WITHDRAWN
                raise TimeoutError("the body was not kept in time")

    @staticmethod
    def _outcome(request: _Request) -> int | None:
        if isinstance(request.result, BaseException):
            raise request.result
        return request.result

    def _ensure_writer(self) -> None:
        # Servers fork their workers; a thread does not survive a fork, so start one per process.
        if self._pid != os.getpid():
            with self._ready:
                if self._pid != os.getpid():
                    self._queue.clear()
                    self._pending.clear()
                    thread = threading.Thread(target=self._run, name=self._name, daemon=True)
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
            size = 0  # a batch's bodies are joined in memory: large ones make smaller batches
            while self._queue and len(batch) < self._max_batch and size < self._max_bytes:
                request = self._queue.popleft()
                if request.state is _State.QUEUED:
                    request.state = _State.TAKEN
                    batch.append(request)
                    size += len(request.body.body)
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
            results = self._append(claim)
        except Exception as error:  # every request still waiting gets the storage's error
            failed = committing or [r for r in batch if r.state is _State.TAKEN]
            for request in failed:
                request.result = error
            _wake(failed)
            return
        for request, result in zip(committing, results, strict=True):
            request.result = result
        _wake(committing)

    def _append(self, claim: Claim) -> Sequence[int | None]:
        """Keep the bodies ``claim`` returns (call it once the storage is ready); return what
        each waiter gets, in order."""
        raise NotImplementedError


def _wake(requests: Sequence[_Request]) -> None:
    """Wake the threads one by one, and each event loop's coroutines with one hand-off."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Request]] = {}
    for request in requests:
        if request.event is not None:
            request.event.set()
        else:
            assert request.future is not None
            by_loop.setdefault(request.future.get_loop(), []).append(request)
    for loop, waiting in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle, waiting)
        except RuntimeError:  # the loop is closed: its server stopped, nobody waits any more
            continue


def _settle(requests: list[_Request]) -> None:
    for request in requests:
        future = request.future
        assert future is not None
        if future.done():  # cancelled: its client went away
            continue
        if isinstance(request.result, BaseException):
            future.set_exception(request.result)
        else:
            future.set_result(request.result)


class GroupCommitWriter(GroupCommit):
    """The inbox's group commit: one transaction per batch; ``write`` returns the new id."""

    def __init__(self, engine: Engine, *, max_batch: int = 512) -> None:
        super().__init__(max_batch=max_batch)
        self._engine = engine

    def _append(self, claim: Claim) -> list[int]:
        with self._engine.begin() as connection:
            bodies = claim()  # on SQLite, now that the write lock is ours (BEGIN IMMEDIATE)
            return add_bodies(connection, bodies) if bodies else []
