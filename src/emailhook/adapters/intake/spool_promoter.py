"""Moves spooled bodies into ``inbox_body``: a thread per web process, or the worker's sweep
(``spool_mover``), and the relay's sweep of stopped writers' segments.

Each transaction inserts a run of records and sets the segment's ``spool_segment`` offset to the
end of that run, so a record reaches the inbox exactly once whichever process moves it and
whenever one crashes. A process moves its own segments as they are synced, and takes over the
segments of writers that are gone (their lock is free): a web process that was killed, or
stopped for good with bodies not yet moved, loses nothing. A fully moved segment's file is
deleted and its row kept, so that a copy of the file carried to another machine (``emailhook
spool recover``) finds its bodies moved. Processes on different machines share no ``flock``:
each transaction claims its run of records first, a compare-and-set of the offset on the locked
row, and a process that finds the run taken by another inserts nothing and reads on from there.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Collection
from contextlib import suppress
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.exc import SQLAlchemyError

from emailhook.adapters.db.inserts import insert_if_missing
from emailhook.adapters.db.models import SpoolSegment
from emailhook.adapters.inbox.bodies import append_bodies
from emailhook.adapters.intake.spool import (
    SpoolWriter,
    moved_by_another,
    moving_here,
    orphans,
    written_end,
)
from emailhook.adapters.intake.spool_records import MAGIC, SUFFIX, read_records
from emailhook.domain.clock import utcnow

log = logging.getLogger("emailhook.spool")


def claim_run(connection: Connection, name: str, start: int, end: int, now: datetime) -> bool:
    """Set segment ``name``'s offset to ``end`` unless another process moved past ``start``.

    Runs first in the transaction that inserts the run's bodies. PostgreSQL makes a second
    claimer of the row wait for the first one's commit and then re-checks the condition;
    SQLite has one writer at a time. False: the records are in the inbox already.
    """
    advanced = connection.execute(
        update(SpoolSegment)
        .where(SpoolSegment.name == name, SpoolSegment.promoted_offset <= start)
        .values(promoted_offset=end, updated_at=now)
    )
    if advanced.rowcount:
        return True
    return insert_if_missing(
        connection, SpoolSegment, "name", name=name, promoted_offset=end, updated_at=now
    )


class SpoolPromoter:
    """Moves records of ``directory`` (and of ``writer``'s live segments) into the inbox."""

    def __init__(
        self,
        engine: Engine,
        directory: Path,
        writer: SpoolWriter | None = None,
        *,
        batch: int = 2000,
        poll_seconds: float = 0.1,
        adopt_seconds: float = 2.0,
        clock: Callable[[], datetime] = utcnow,
        defer_to_worker: bool = False,
    ) -> None:
        self._engine = engine
        self._directory = directory
        #: this process's writer, whose live segments are moved as they are synced
        self.writer = writer
        self._batch = batch
        self._poll = poll_seconds
        self._adopt_every = adopt_seconds
        self._clock = clock
        #: the thread moves nothing while a worker of this machine moves the folder
        self._defer_to_worker = defer_to_worker
        self._offsets: dict[str, int] = {}
        self._next_adoption = 0.0
        self._pid = -1
        self._starting = threading.Lock()
        #: one mover at a time: the thread, and a caller of run_once (tests, shutdown)
        self._moving = threading.Lock()
        self._backoff = poll_seconds

    def ensure_running(self) -> None:
        """Start this process's promoter thread unless it runs (a thread dies with a fork)."""
        if self._pid == os.getpid():
            return
        with self._starting:
            if self._pid != os.getpid():
                self._offsets = {}
                ref = weakref.ref(self)
                thread = threading.Thread(target=self._loop, args=(ref,), daemon=True)
                thread.name = "emailhook-spool"
                thread.start()
                self._pid = os.getpid()

    def run_once(self, *, adopt: bool = True) -> int:
        """Move what can be moved now; return how many bodies reached the inbox."""
        with self._moving:
            return self._run_once(adopt)

    def _run_once(self, adopt: bool) -> int:
        moved = 0
        own = self.writer.segments() if self.writer else []
        for segment in own:
            assert self.writer is not None
            # Settled is read before the file: no byte can follow what is read then.
            settled = self.writer.settled(segment)
            moved += self._move(segment.path, finished=settled)
            if settled:
                self._finish(segment.path)
                self.writer.forget(segment)
        if adopt:
            moved += self._adopt({segment.name for segment in own})
        return moved

    def adopt_orphans(self) -> int:
        """Move and delete every segment whose writer is gone; return the bodies moved."""
        with self._moving:
            own = {segment.name for segment in self.writer.segments()} if self.writer else set()
            return self._adopt(own)

    def _adopt(self, own: Collection[str]) -> int:
        moved = 0
        for path, fd in orphans(self._directory, set(own)):
            try:
                count = self._move(path, finished=True)
                self._finish(path)
            finally:
                os.close(fd)
            if count:
                log.info("moved %d bodies from %s, left by a stopped process", count, path.name)
            moved += count
        return moved

    def move_folder(self) -> int:
        """Move every segment of the folder (the worker's sweep, ``spool_mover=worker``):
        those whose writer is gone to their end, then deleted; live ones as far as their
        records check out (their writers release them, sealed, to be finished here)."""
        with self._moving:
            own = {segment.name for segment in self.writer.segments()} if self.writer else set()
            moved = self._adopt(own)
            present = set(own)
            for path in sorted(self._directory.glob(f"*{SUFFIX}")):
                present.add(path.name)
                if path.name not in own:
                    with suppress(FileNotFoundError):  # finished by another mover meanwhile
                        moved += self._move(path, finished=False)
            for name in set(self._offsets) - present:  # deleted by another mover
                del self._offsets[name]
            return moved

    def move_forever(
        self, stop: threading.Event, on_moved: Callable[[], object] | None = None
    ) -> None:
        """Move the folder every ``poll_seconds`` until ``stop`` is set (backing off while the
        database or the disk fails); call ``on_moved`` after a pass that moved bodies (the
        worker's relay, woken to publish them). The web processes of the machine leave the
        folder to it meanwhile (``defer_to_worker``)."""
        with moving_here(self._directory):
            self._move_until(stop, on_moved)

    def _move_until(self, stop: threading.Event, on_moved: Callable[[], object] | None) -> None:
        pause = self._poll
        while not stop.wait(pause):
            try:
                if self.move_folder() and on_moved is not None:
                    on_moved()
            except Exception as error:  # even a bug must not stop the moving for good
                if isinstance(error, (SQLAlchemyError, OSError)):
                    log.warning("spooled bodies not moved yet, retrying: %s", error)
                else:
                    log.exception("moving spooled bodies failed")
                pause = min(max(pause * 2, 0.5), 10.0)
            else:
                pause = self._poll

    def sweep_forever(
        self, stop: threading.Event, on_moved: Callable[[], object] | None = None
    ) -> None:
        """Take over dead writers' segments every ``adopt_seconds`` until ``stop`` is set;
        call ``on_moved`` after a sweep that moved bodies.

        The relay runs this beside the web processes' own promoters: a web server stopped for
        good with bodies not yet moved still gets them moved.
        """
        while not stop.is_set():
            try:
                if self.adopt_orphans() and on_moved is not None:
                    on_moved()
            except Exception:  # the database may be down: try again at the next sweep
                log.exception("moving a stopped process's spooled bodies failed")
            stop.wait(self._adopt_every)

    @staticmethod
    def _loop(promoter_ref: weakref.ref[SpoolPromoter]) -> None:
        # Only a weak reference between steps: the thread ends with its promoter (and app).
        while (promoter := promoter_ref()) is not None:
            pause = promoter._step()
            del promoter
            time.sleep(pause)

    def _step(self) -> float:
        """Move what can be moved; return how long to wait before the next step."""
        if self._defer_to_worker and moved_by_another(self._directory):
            return self._poll  # a worker of this machine moves the folder, this one's too
        adopt = time.monotonic() >= self._next_adoption
        try:
            self.run_once(adopt=adopt)
        except Exception as error:  # even a bug must not stop the moving for good
            if isinstance(error, (SQLAlchemyError, OSError)):  # the database or disk, for now
                log.warning("spooled bodies not moved yet, retrying: %s", error)
            else:
                log.exception("moving spooled bodies failed")
            self._backoff = min(max(self._backoff * 2, 0.5), 10.0)
            return self._backoff
        self._backoff = self._poll
        if adopt:
            self._next_adoption = time.monotonic() + self._adopt_every
        # A step moves all there is; the next waits, so that under load a transaction takes
        # a tenth of a second's bodies rather than the few that came during the last commit.
        return self._poll

    def _move(self, path: Path, *, finished: bool) -> int:
        """Move the records of ``path`` that check out (all of them if ``finished``)."""
        name = path.name
        offset = self._offsets.get(name)
        if offset is None:
            offset = self._saved_offset(name)
        moved = 0
        while True:
            records, end = read_records(path, offset, limit=self._batch, finished=finished)
            if end == offset:  # nothing more that checks out, for now (or ever, if finished)
                return moved
            if records:
                with self._engine.begin() as connection:  # on SQLite: the write lock
                    claimed = claim_run(connection, name, offset, end, self._clock())
                    if claimed:
                        append_bodies(connection, [record.body for record in records])
                if not claimed:  # a copy of this file moved on another machine got there first
                    offset = self._offsets[name] = self._saved_offset(name)
                    continue
                moved += len(records)
            # past bytes that are not records (a finished segment's torn one), in memory only:
            # after a crash they are read, and skipped, again
            offset = self._offsets[name] = end

    def _saved_offset(self, name: str) -> int:
        with self._engine.connect() as connection:
            saved = connection.scalar(
                select(SpoolSegment.promoted_offset).where(SpoolSegment.name == name)
            )
        return len(MAGIC) if saved is None else int(saved)

    def _finish(self, path: Path) -> None:
        # The row stays (a few dozen bytes per segment): a copy of the file elsewhere is moved
        # from its offset, so not again.
        path.unlink(missing_ok=True)
        self._offsets.pop(path.name, None)


def spool_backlog(engine: Engine, directory: Path) -> tuple[int, int]:
    """Return how many spool files there are, and how many of their bytes are not moved yet."""
    if not directory.is_dir():
        return 0, 0
    paths = {path.name: path for path in directory.glob(f"*{SUFFIX}")}
    if not paths:
        return 0, 0
    with engine.connect() as connection:
        moved = dict(
            connection.execute(
                select(SpoolSegment.name, SpoolSegment.promoted_offset).where(
                    SpoolSegment.name.in_(list(paths))
                )
            ).all()
        )
    files = unmoved = 0
    for name, path in paths.items():
        start = moved.get(name, len(MAGIC))
        with suppress(FileNotFoundError):  # moved and deleted meanwhile
            unmoved += max(written_end(path, start) - start, 0)
            files += 1
    return files, unmoved
