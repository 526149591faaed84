"""Chunks written in order by a thread of their own; a write's error reaches the caller, and
a caller's error stops the writing."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

import pytest

from emailhook.domain.sending.message import new_public_id, new_public_ids
from emailhook.service.send.chunk_writer import ChunkWriter


def test_chunks_are_written_in_order_by_another_thread_and_the_block_waits_for_the_last() -> None:
    written: list[tuple[int, str]] = []

    def write(chunk: int) -> None:
        written.append((chunk, threading.current_thread().name))

    with ChunkWriter(write) as writer:
        for chunk in range(50):
            writer.put(chunk)
    assert [chunk for chunk, _ in written] == list(range(50))
    assert {name for _, name in written} == {"chunk-writer"}


def test_a_writes_error_stops_the_writing_and_reaches_the_caller() -> None:
    written: list[int] = []

    def write(chunk: int) -> None:
        if chunk == 3:
            raise OSError("disk full")
        written.append(chunk)

    with pytest.raises(OSError, match="disk full"):
        _put_all(write, range(10))
    assert written == [0, 1, 2]


def _put_all(write: Callable[[int], None], chunks: Iterable[int]) -> None:
    with ChunkWriter(write, depth=1) as writer:
        for chunk in chunks:
            writer.put(chunk)


def test_the_callers_error_drops_the_chunks_not_yet_written() -> None:
    started, release = threading.Event(), threading.Event()
    written: list[int] = []

    def write(chunk: int) -> None:
        started.set()
        release.wait(5)
        written.append(chunk)

    def upload() -> None:
        with ChunkWriter(write) as writer:
            writer.put(0)
            started.wait(5)
            writer.put(1)
            writer.put(2)
            # the first chunk's write ends after the block has stopped the writing
            threading.Timer(0.2, release.set).start()
            raise ValueError("bad line")

    with pytest.raises(ValueError, match="bad line"):
        upload()
    assert written == [0]


def test_ids_made_at_once_are_as_one_made_alone_and_all_different() -> None:
    ids = new_public_ids(1000, "msg_")
    assert len(set(ids)) == 1000
    one = new_public_id()
    assert all(len(i) == len(one) == 30 and i.startswith("msg_") for i in ids)
    assert set("".join(i[4:] for i in ids)) <= set("0123456789abcdefghjkmnpqrstvwxyz")
    assert ids[0][:14] <= one[:14]  # the milliseconds first: sortable by creation time
