"""The spool's group commit for coroutines, on real files: one write and sync per batch.

Many coroutines of one loop await their bodies; each is woken once its record is on disk, a
batch shares one sync (run by the kernel, or by a thread where the kernel cannot), and a
failed write or sync fails every coroutine of its batch and retires the segment.
"""

from __future__ import annotations

import asyncio
import errno
import os
from pathlib import Path

import pytest

from emailhook.adapters.intake.kernel_sync import Done, KernelSync
from emailhook.adapters.intake.spool import SpoolError, SpoolWriter
from emailhook.adapters.intake.spool_commit import SpoolCommit
from emailhook.adapters.intake.spool_records import read_records
from emailhook.domain.clock import utcnow
from emailhook.domain.inbox import BodyState, NewBody


def body(n: int) -> NewBody:
    raw = b'{"notificationType": "OPENED", "eventId": "e-%d"}' % n
    return NewBody(raw, "tracking_event", 1, BodyState.PENDING, utcnow(), f"req-{n}")


def kept(writer: SpoolWriter) -> list[str | None]:
    found = []
    for segment in writer.segments():
        records, _ = read_records(segment.path, 0, limit=100_000, finished=False)
        found += [record.body.request_id for record in records]
    return found


class CountingSync:
    """A sync that counts its calls and syncs on the loop (``fail``: how it fails)."""

    def __init__(self, done: Done, fail: OSError | None = None) -> None:
        self.done, self.fail, self.calls = done, fail, 0

    def start(self, fd: int) -> None:
        self.calls += 1
        if self.fail is None:
            os.fdatasync(fd)
        asyncio.get_running_loop().call_soon(self.done, self.fail)


@pytest.fixture
def syncs(monkeypatch: pytest.MonkeyPatch) -> list[CountingSync]:
    """Every loop's sync made a CountingSync, in the order the loops started: the list."""
    made: list[CountingSync] = []

    def counting(loop: asyncio.AbstractEventLoop, done: Done) -> CountingSync:
        made.append(CountingSync(done))
        return made[-1]

    monkeypatch.setattr(
        KernelSync, "open", classmethod(lambda cls, loop, done: counting(loop, done))
    )
    return made


@pytest.fixture(params=["kernel", "thread"])
def sync_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "thread":
        monkeypatch.setattr(KernelSync, "open", classmethod(lambda cls, loop, done: None))
    return str(request.param)


def test_each_coroutine_is_answered_once_its_record_is_in_the_file(
    tmp_path: Path, sync_kind: str
) -> None:
    writer = SpoolWriter(tmp_path / "spool")
    commit = SpoolCommit(writer)

    async def one(n: int) -> None:
        await commit.write_async(body(n), 1.0)
        assert f"req-{n}" in kept(writer)  # on disk (and synced) before the coroutine goes on

    async def many() -> None:
        await asyncio.gather(*(one(n) for n in range(200)))

    asyncio.run(many())
    assert sorted(kept(writer)) == sorted(f"req-{n}" for n in range(200))


def test_a_turn_of_the_loop_shares_one_sync(tmp_path: Path, syncs: list[CountingSync]) -> None:
    commit = SpoolCommit(SpoolWriter(tmp_path / "spool"))

    async def many() -> None:
        await asyncio.gather(*(commit.write_async(body(n), 1.0) for n in range(100)))
        await asyncio.gather(*(commit.write_async(body(n), 1.0) for n in range(100, 150)))

    asyncio.run(many())
    assert syncs[0].calls == 2  # a gathered hundred, then fifty: a batch each


def test_a_failed_sync_fails_its_whole_batch_and_retires_the_segment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing = OSError(errno.EIO, "I/O error")
    monkeypatch.setattr(
        KernelSync, "open", classmethod(lambda cls, loop, done: CountingSync(done, failing))
    )
    writer = SpoolWriter(tmp_path / "spool")
    commit = SpoolCommit(writer)

    async def many() -> list[BaseException | None]:
        return await asyncio.gather(
            *(commit.write_async(body(n), 1.0) for n in range(10)), return_exceptions=True
        )

    outcomes = asyncio.run(many())
    assert all(isinstance(outcome, SpoolError) for outcome in outcomes)
    (segment,) = writer.segments()
    assert segment.broken  # and sealed: the next body starts a new segment
    assert segment.sealed
    writer.write(body(99), 1.0)
    assert len(writer.segments()) == 2


def test_a_file_the_kernel_cannot_sync_asynchronously_is_synced_on_a_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Refusing:
        def __init__(self, done: Done) -> None:
            self.done = done

        def start(self, fd: int) -> None:
            raise OSError(errno.EINVAL, "Invalid argument")

    monkeypatch.setattr(KernelSync, "open", classmethod(lambda cls, loop, done: Refusing(done)))
    writer = SpoolWriter(tmp_path / "spool")
    commit = SpoolCommit(writer)

    async def many() -> None:
        await asyncio.gather(*(commit.write_async(body(n), 1.0) for n in range(20)))

    asyncio.run(many())
    assert len(kept(writer)) == 20


def test_the_kernel_syncs_a_file_and_says_so_on_the_loop(tmp_path: Path) -> None:
    async def sync() -> list[OSError | None]:
        loop = asyncio.get_running_loop()
        ended: asyncio.Future[OSError | None] = loop.create_future()
        kernel = KernelSync.open(loop, ended.set_result)
        if kernel is None:
            pytest.skip("no kernel AIO here")
        fd = os.open(tmp_path / "file", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            os.write(fd, b"x" * 4096)
            kernel.start(fd)
            first = await asyncio.wait_for(ended, 10)
            closed = os.open(tmp_path / "other", os.O_WRONLY | os.O_CREAT)
            os.close(closed)
            with pytest.raises(OSError, match="Bad file descriptor") as refused:
                kernel.start(closed)  # a closed descriptor: refused when submitted
            assert refused.value.errno == errno.EBADF
            return [first]
        finally:
            os.close(fd)
            kernel.close()

    assert asyncio.run(sync()) == [None]


def test_bodies_arriving_within_the_gap_share_the_next_sync_and_a_lone_body_waits_for_none(
    tmp_path: Path, syncs: list[CountingSync]
) -> None:
    async def staggered(commit: SpoolCommit) -> tuple[float, float]:
        """A body after a quiet spell, then twenty bodies a millisecond apart, then a quiet
        spell longer than the gap and one more: how long the first and the last waited."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        await commit.write_async(body(0), 1.0)
        first = loop.time() - started
        pending = []
        for n in range(1, 21):
            pending.append(asyncio.ensure_future(commit.write_async(body(n), 1.0)))
            await asyncio.sleep(0.001)
        await asyncio.gather(*pending)
        await asyncio.sleep(0.6)
        started = loop.time()
        await commit.write_async(body(21), 1.0)
        return first, loop.time() - started

    first, last = asyncio.run(staggered(SpoolCommit(SpoolWriter(tmp_path / "a"), gap=0.5)))
    assert syncs[-1].calls == 3  # the first body; the twenty, after the gap; the last
    assert first < 0.25  # a body after a quiet spell is synced at once
    assert last < 0.25

    asyncio.run(staggered(SpoolCommit(SpoolWriter(tmp_path / "b"), gap=0.0)))
    assert syncs[-1].calls > 10  # no gap: a sync as soon as the last one ended
