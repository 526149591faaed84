"""The spool's writer: each web process appends accepted bodies to its own file, synced
before the answer.

Each request thread appends its record (``spool_records``) to a file its process owns with
one ``write`` and makes it durable with ``fdatasync``, holding no lock meanwhile: no hand-off
to a writer thread, no turn at a database lock before the answer (why, measured:
docs/performance.md, "Ingest"). Requests served as coroutines share one ``write`` and one
``fdatasync`` per batch (``write_records``, then ``synced``; ``spool_commit``). The promoter
(``spool_promoter``) then moves records into ``inbox_body`` in large transactions.

A segment grows ahead of its records by ``PREALLOCATED`` bytes of zeros at a time, synced with
the records that come next: a record then lands in blocks the file already has, and its
``fdatasync`` writes those blocks alone, not the file's new size and blocks through the
filesystem's journal (a third less of the machine's time a sync, measured: docs/performance.md).
A batch of ``LONG_RECORDS`` or more grows the file itself: for it the bytes are the cost,
which zeros first would write twice.
Readers stop at the zeros as at any record that does not check out; a segment is cut back to
its records when sealed, and the backlog counts no zeros (``written_end``).

A segment is named ``<host>-<pid>-<start>-<random>.seg``. Its writer holds an exclusive
``flock`` on it for as long as it lives, so another process can tell a dead writer's segment
(lock free) from a live one. A segment is created under a temporary name, locked, synced and
only then renamed into place: a segment that can be seen is always locked while its writer runs.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from emailhook.adapters.db.models import SPOOL_NAME_CHARS
from emailhook.adapters.intake.spool_records import MAGIC, SUFFIX, encode_record
from emailhook.domain.inbox import NewBody

#: zeros written ahead of a segment's records at a time (see the module's text)
PREALLOCATED = 1024 * 1024
#: records this long or longer are written past the zeros instead: for them the disk's time
#: is the bytes, which zeros ahead would write twice, not the journal's commit
LONG_RECORDS = 64 * 1024


class SpoolError(OSError):
    """The spool could not keep a body (disk full, I/O error): the request is answered 503."""


class Segment:
    """One segment file of this process, and the request threads writing to it right now."""

    def __init__(self, directory: Path) -> None:
        name = "-".join(
            (
                socket.gethostname()[:253],
                str(os.getpid()),
                str(time.time_ns()),
                secrets.token_hex(4),
            )
        )
        self.path = directory / f"{name[: SPOOL_NAME_CHARS - len(SUFFIX)]}{SUFFIX}"
        staging = directory / f".{self.path.name}.new"
        # not O_APPEND: records are written at offsets reserved for them, before the zeros
        self.fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.write(self.fd, MAGIC)
            os.fdatasync(self.fd)
            os.rename(staging, self.path)
            sync_directory(directory)
        except BaseException:
            os.close(self.fd)
            staging.unlink(missing_ok=True)
            raise
        #: bytes of records (reserved), the file's size with its zeros ahead, threads inside
        #: write/fdatasync, and whether it takes more
        self.size = len(MAGIC)
        self.allocated = len(MAGIC)
        self.writers = 0
        self.sealed = False
        #: a write or sync failed: what it holds is read as far as it checks out
        self.broken = False

    @property
    def name(self) -> str:
        return self.path.name

    def reserve(self, length: int, limit: int) -> int:
        """Return the offset where ``length`` bytes of records go, zeros written ahead first
        when they reach past them (never past ``limit``, the size that ends the segment).
        Called with its writer's lock held."""
        offset = self.size
        self.size += length
        if self.size > self.allocated:
            if length >= LONG_RECORDS:  # the file grows by the records themselves
                self.allocated = self.size
                return offset
            grown = max(self.size, min(self.size + PREALLOCATED, limit))
            _write_at(self.fd, bytes(grown - self.allocated), self.allocated)
            self.allocated = grown
        return offset

    def cut(self) -> None:
        """Cut a settled segment back to its records (its zeros ahead dropped)."""
        if not self.broken and self.allocated > self.size:
            os.ftruncate(self.fd, self.size)
            self.allocated = self.size

    def close(self) -> None:
        os.close(self.fd)


class SpoolWriter:
    """Keeps bodies in this process's spool segment (a BodyWriter for the intake).

    ``write`` returns once the body's record is on disk. Segments are sealed when they reach
    ``segment_bytes`` or when a write or sync fails, and a new one is started; the promoter
    deletes a sealed segment once no thread writes to it and all of it is in the inbox. With
    ``release_settled`` (the worker moves the spool) the writer closes such a segment itself.
    """

    def __init__(
        self,
        directory: Path,
        *,
        segment_bytes: int = 16 * 1024 * 1024,
        on_new_segment: Callable[[], None] | None = None,
        release_settled: bool = False,
    ) -> None:
        self.directory = directory
        self._segment_bytes = segment_bytes
        self._on_new_segment = on_new_segment
        #: close a segment (its lock goes with it) once settled: another process moves it
        self._release_settled = release_settled
        #: guards the segment list and counters; never held across a system call on the hot path
        self._lock = threading.Lock()
        self._current: Segment | None = None
        self._segments: list[Segment] = []
        self._pid = os.getpid()

    def write(self, body: NewBody, timeout: float) -> None:  # no inbox id yet
        """Keep ``body`` durably; raise SpoolError (an OSError) if that fails.

        ``timeout`` is not used: a sync cannot be abandoned, and one takes milliseconds unless
        the disk is failing. A body answered with an error may still be kept (its record may
        be whole on disk): the sender posts it again, and its events are stored once anyway.
        """
        del timeout
        self._append(encode_record(body))

    def _append(self, records: bytes) -> None:
        segment = self.write_records(records)
        failed: OSError | None = None
        try:
            os.fdatasync(segment.fd)
        except OSError as error:
            failed = error
        self.synced(segment, failed)

    def write_records(self, records: bytes) -> Segment:
        """Write ``records`` (whole, in one write, after the segment's other records) and return
        their segment, not synced yet:
        sync its ``fd``, then call ``synced``. Raises SpoolError if the write failed."""
        failed: OSError | None = None
        with self._lock:
            segment = self._writable()
            segment.writers += 1
            try:
                offset = segment.reserve(len(records), self._segment_bytes)
            except OSError as error:  # the zeros ahead could not be written
                failed = error
        if failed is None:
            try:
                _write_at(segment.fd, records, offset)
            except OSError as error:
                failed = error
        if failed is not None:
            self.synced(segment, failed)
        return segment

    def synced(self, segment: Segment, failed: BaseException | None) -> None:
        """End a write of ``segment`` whose sync ended (``failed``: how it failed); raise
        SpoolError unless what was written is known to be on disk."""
        with self._lock:
            segment.writers -= 1
            if failed is not None:
                # After a failed write or fsync nothing is known to be on disk, and a later
                # fsync may wrongly succeed: the segment takes no more bodies.
                segment.broken = segment.sealed = True
            elif segment.broken:  # another thread's sync failed while ours ran: not sure
                failed = SpoolError("another write to the spool file failed meanwhile")
            self._release_if_settled(segment)
        if failed is not None:
            raise SpoolError(f"the spool file could not be written or synced: {failed}")

    def _release_if_settled(self, segment: Segment) -> None:
        # Called with the lock held. Its lock free, the segment is a stopped writer's to the
        # mover of the machine (the worker's sweep), which moves it to its end and deletes it.
        settled = segment.sealed and segment.writers == 0
        if settled:
            with suppress(OSError):  # its zeros then stay: readers skip them all the same
                segment.cut()
        if self._release_settled and settled and segment in self._segments:
            self._segments.remove(segment)
            segment.close()

    def segments(self) -> list[Segment]:
        """This process's segments, oldest first (the promoter's worklist)."""
        with self._lock:
            if self._pid != os.getpid():
                return []
            return list(self._segments)

    def settled(self, segment: Segment) -> bool:
        """True when no thread writes to ``segment`` and none will: it can be read to its end."""
        with self._lock:
            return segment.sealed and segment.writers == 0

    def forget(self, segment: Segment) -> None:
        """Drop a settled, fully promoted segment: its file is deleted by the caller."""
        with self._lock:
            if segment not in self._segments:  # released already (``release_settled``)
                return
            self._segments.remove(segment)
        segment.close()

    def _writable(self) -> Segment:
        if self._pid != os.getpid():  # a forked child must not append to its parent's file
            self._pid, self._current, self._segments = os.getpid(), None, []
        segment = self._current
        if segment is None or segment.sealed or segment.size >= self._segment_bytes:
            if segment is not None:
                segment.sealed = True
                self._release_if_settled(segment)
            self.directory.mkdir(parents=True, exist_ok=True)
            segment = Segment(self.directory)  # rare: a new file per segment_bytes
            self._current = segment
            self._segments.append(segment)
            if self._on_new_segment:
                self._on_new_segment()
        return segment


def _write_at(fd: int, data: bytes, offset: int) -> None:
    if os.pwrite(fd, data, offset) != len(data):
        raise SpoolError("short write (disk full?)")


def written_end(path: Path, start: int) -> int:
    """Return the offset past the last byte of ``path`` that is not a zero ahead of its
    records (at least ``start``): its size less the zeros a live segment keeps ahead."""
    with path.open("rb") as file:
        size = os.fstat(file.fileno()).st_size
        if size <= start:
            return size
        tail = min(size - start, PREALLOCATED + len(MAGIC))
        file.seek(size - tail)
        zeros = tail - len(file.read(tail).rstrip(b"\0"))
    return size - zeros


#: a worker moving a spool folder holds a lock on this file of it (``moving_here``)
MOVER_LOCK = ".mover"


@contextmanager
def moving_here(directory: Path) -> Iterator[None]:
    """Say, while the block runs, that this process moves every segment of ``directory``.

    A POSIX record lock (``lockf``) on its ``.mover`` file: held by this process alone, not
    inherited by the children it forks, and gone with it however it ends. A process must not
    also ask ``moved_by_another`` of the same folder (closing any descriptor of the file
    releases its locks).
    """
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / MOVER_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.lockf(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


def moved_by_another(directory: Path) -> bool:
    """True while another process (a worker of this machine) moves ``directory``."""
    try:
        fd = os.open(directory / MOVER_LOCK, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # EAGAIN or EACCES: held
        return True
    else:
        fcntl.lockf(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def sync_directory(directory: Path) -> None:
    """Make a file created, renamed or deleted in ``directory`` survive a crash."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def orphans(directory: Path, own: set[str]) -> Iterator[tuple[Path, int]]:
    """Yield each segment whose writer is gone, with an open file descriptor holding its lock.

    The caller moves it, deletes it and closes the descriptor. A segment still locked by a
    live process (or one of ``own``) is skipped.
    """
    if not directory.is_dir():
        return
    for path in sorted(directory.glob(f"*{SUFFIX}")):
        if path.name in own:
            continue
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:  # another process moved and deleted it meanwhile
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        if not path.exists():  # deleted between our open and our lock
            os.close(fd)
            continue
        yield path, fd
