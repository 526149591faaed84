"""Chunks written in order by a thread of their own while the caller prepares the next.

A campaign's upload reads and checks its recipients in Python and writes them in the
database; the database's share (SQLite's C code, PostgreSQL's server) runs without Python's
GIL, so that while a chunk is written the next is checked on the other core. At most
``depth`` chunks wait: the memory stays a few chunks whatever the upload's size.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Generic, TypeVar

T = TypeVar("T")

#: chunks waiting for the writer at most (beside the one it writes)
DEPTH = 2


class _End:
    """What ends the writer's queue."""


class ChunkWriter(Generic[T]):
    """``with ChunkWriter(write) as writer: writer.put(chunk)``: each chunk given to ``write``
    in order, in one thread; leaving the block waits for the last. A write that raises ends
    the writing: ``put`` and the block's end raise it. Leaving the block by an error drops
    the chunks not yet written (the caller discards what was)."""

    def __init__(self, write: Callable[[T], None], depth: int = DEPTH) -> None:
        self._write = write
        self._queue: queue.Queue[T | _End] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chunk-writer", daemon=True)

    def __enter__(self) -> ChunkWriter[T]:
        self._thread.start()
        return self

    def put(self, chunk: T) -> None:
        """Queue ``chunk`` (waiting while ``depth`` chunks wait); raise a write's error."""
        self._raise()
        self._queue.put(chunk)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if error is not None:
            self._stop.set()
            self._drop_waiting()
        self._queue.put(_End())
        self._thread.join()
        if error is None:
            self._raise()

    def _run(self) -> None:
        while not isinstance(chunk := self._queue.get(), _End):
            if self._error is not None or self._stop.is_set():
                continue  # read on to the end, writing nothing more
            try:
                self._write(chunk)
            except BaseException as error:
                self._error = error

    def _drop_waiting(self) -> None:
        try:
            while True:
                self._queue.get_nowait()
        except queue.Empty:
            pass

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error
