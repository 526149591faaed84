"""The spool's group commit: the coroutines of an event loop share one write and one sync.

The webhook front serves each request as a coroutine of its process's event loop. A loop
keeps the records of its waiting coroutines; once per turn of the loop, everything queued
since the last sync began is appended with one ``write`` and made durable with one
``fdatasync``, and every coroutine of the batch is woken when it ends (no thread sleeps per
body: docs/performance.md, "Ingest"). The kernel runs the sync and tells the loop on an
eventfd (``kernel_sync``); where it cannot, one thread runs it and hands the end back. One
sync at a time per loop: what arrives meanwhile goes with the next, so a batch grows with the
load and with the disk's latency. And one sync per ``gap`` at most: a sync costs the machine
about as much as answering a request (the kernel's work for it, not the loop's), so under load
a batch waits for the gap to end and takes what arrives meanwhile, while a body that comes
after a quiet gap is synced at once (docs/performance.md, "The webhook front").

A thread (the development server, tools) appends and syncs its own record
(``SpoolWriter.write``), as before: the kernel shares concurrent syncs among threads.
"""

from __future__ import annotations

import asyncio
import errno
import os
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

from emailhook.adapters.intake.kernel_sync import Done, KernelSync
from emailhook.adapters.intake.spool import Segment, SpoolWriter
from emailhook.adapters.intake.spool_records import encode_record
from emailhook.domain.inbox import NewBody

#: errors of a kernel sync that mean "not this way": the thread takes over for good
_UNSUPPORTED = (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP)


class SpoolCommit:
    """Keeps bodies in the spool: ``write`` for a thread, ``write_async`` for a coroutine."""

    def __init__(self, spool: SpoolWriter, *, gap: float = 0.0) -> None:
        self.spool = spool
        #: seconds from the start of a loop's sync to the start of its next, at least
        self.gap = gap
        self._batches: dict[asyncio.AbstractEventLoop, _Batches] = {}

    def write(self, body: NewBody, timeout: float) -> None:
        """Keep ``body`` durably; raise SpoolError (an OSError) if that fails."""
        self.spool.write(body, timeout)

    async def write_async(self, body: NewBody, timeout: float) -> None:
        """Keep ``body`` durably with the other bodies of this turn of the loop; raise
        SpoolError (an OSError) if that fails. ``timeout`` is not used: a sync cannot be
        abandoned."""
        del timeout
        loop = asyncio.get_running_loop()
        batches = self._batches.get(loop)
        if batches is None:
            batches = self._batches[loop] = _Batches(loop, self.spool, self.gap)
        await batches.add(encode_record(body))


class _Sync(Protocol):
    def start(self, fd: int) -> None: ...


class _ThreadSync:
    """``fdatasync`` on one thread of this process: one hand-off each way per sync."""

    def __init__(self, loop: asyncio.AbstractEventLoop, done: Done) -> None:
        self._loop = loop
        self._done = done
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="emailhook-spool-sync")

    def start(self, fd: int) -> None:
        self._thread.submit(os.fdatasync, fd).add_done_callback(self._ended)

    def _ended(self, future: Future[None]) -> None:
        error = future.exception()
        self._loop.call_soon_threadsafe(self._done, error if isinstance(error, OSError) else None)


class _Batches:
    """One loop's batches: the records waiting, and the batch being synced."""

    def __init__(self, loop: asyncio.AbstractEventLoop, spool: SpoolWriter, gap: float) -> None:
        self._loop = loop
        self._spool = spool
        self._gap = gap
        #: when the last sync began (the loop's clock)
        self._began = -gap
        self._sync: _Sync = KernelSync.open(loop, self._synced) or _ThreadSync(loop, self._synced)
        self._waiting: list[tuple[bytes, asyncio.Future[None]]] = []
        self._syncing: tuple[list[asyncio.Future[None]], Segment] | None = None
        self._begin_soon = False

    def add(self, record: bytes) -> asyncio.Future[None]:
        future = self._loop.create_future()
        self._waiting.append((record, future))
        if not self._begin_soon and self._syncing is None:
            self._begin_later()
        return future

    def _begin_later(self) -> None:
        # After the other callbacks of this turn at the soonest, their records in the same
        # batch; after the gap since the last sync began, if it has not passed.
        self._begin_soon = True
        wait = self._began + self._gap - self._loop.time()
        if wait > 0:
            self._loop.call_later(wait, self._begin)
        else:
            self._loop.call_soon(self._begin)

    def _begin(self) -> None:
        self._begin_soon = False
        if self._syncing is not None or not self._waiting:
            return
        batch, self._waiting = self._waiting, []
        futures = [future for _, future in batch]
        try:
            segment = self._spool.write_records(b"".join(record for record, _ in batch))
        except OSError as error:
            _settle(futures, error)
            return
        self._syncing = (futures, segment)
        self._began = self._loop.time()
        try:
            self._sync.start(segment.fd)
        except OSError as error:
            if error.errno not in _UNSUPPORTED:
                self._synced(error)
                return
            self._sync = _ThreadSync(self._loop, self._synced)
            self._sync.start(segment.fd)

    def _synced(self, error: OSError | None) -> None:
        assert self._syncing is not None
        futures, segment = self._syncing
        self._syncing = None
        failed: OSError | None = None
        try:
            self._spool.synced(segment, error)
        except OSError as spool_error:
            failed = spool_error
        _settle(futures, failed)
        if self._waiting:
            self._begin_later()


def _settle(futures: list[asyncio.Future[None]], error: OSError | None) -> None:
    for future in futures:
        if future.done():  # cancelled: its client went away (its record may be kept anyway)
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)
