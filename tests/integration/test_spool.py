"""The spool: every body a web process synced reaches the inbox exactly once, whatever dies."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, func, select

from emailhook.adapters.db.engine import Database
from emailhook.adapters.db.models import InboxBody, SpoolSegment
from emailhook.adapters.intake import spool_promoter
from emailhook.adapters.intake.spool import LONG_RECORDS, PREALLOCATED, SpoolWriter
from emailhook.adapters.intake.spool_promoter import SpoolPromoter, spool_backlog
from emailhook.adapters.intake.spool_records import MAGIC, read_records
from emailhook.domain.inbox import BodyState, NewBody
from support.spool_files import RECEIVED, body, inbox, writer_script


def segments(db: Database) -> int:
    with db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(SpoolSegment)) or 0)


def write_in_a_process_that_dies(directory: Path, count: int) -> None:
    done = subprocess.run(
        writer_script(directory, count), input="\n", capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stdout.strip()) == (9, "written")


def test_synced_bodies_reach_the_inbox_once_however_often_the_promoter_runs(
    database: Database, tmp_path: Path
) -> None:
    writer = SpoolWriter(tmp_path / "spool")
    promoter = SpoolPromoter(database.engine, tmp_path / "spool", writer)
    for n in range(10):
        writer.write(body(n), 5)
    assert promoter.run_once() == 10
    assert promoter.run_once() == 0
    writer.write(body(10), 5)
    assert promoter.run_once() == 1
    assert inbox(database) == [f"req-{n}" for n in range(11)]
    files, unmoved = spool_backlog(database.engine, tmp_path / "spool")
    assert (files, unmoved) == (1, 0)


def test_bodies_from_many_threads_are_all_kept_once(database: Database, tmp_path: Path) -> None:
    writer = SpoolWriter(tmp_path / "spool", segment_bytes=2048)  # many segments
    promoter = SpoolPromoter(database.engine, tmp_path / "spool", writer)

    def post(start: int) -> None:
        for n in range(start, start + 50):
            writer.write(body(n), 5)

    threads = [threading.Thread(target=post, args=(t * 50,)) for t in range(8)]
    for thread in threads:
        thread.start()
    moved = 0
    while any(thread.is_alive() for thread in threads):
        moved += promoter.run_once()
    moved += promoter.run_once()
    assert moved == 400
    assert sorted(inbox(database)) == sorted(f"req-{n}" for n in range(400))
    # sealed segments are deleted once moved; the current one stays. Rows stay for every one
    # (a copy of a file moved elsewhere must find it moved: see test_spool_recover.py)
    assert len(list((tmp_path / "spool").glob("*.seg"))) == 1
    assert segments(database) > 1


def test_a_killed_writers_segment_is_taken_over_moved_and_deleted(
    database: Database, tmp_path: Path
) -> None:
    write_in_a_process_that_dies(tmp_path / "spool", 25)
    promoter = SpoolPromoter(database.engine, tmp_path / "spool")
    assert promoter.adopt_orphans() == 25
    assert inbox(database) == [f"req-{n}" for n in range(25)]
    assert not list((tmp_path / "spool").glob("*.seg"))
    assert segments(database) == 1  # kept, with the offset of the file's end


def test_a_live_writers_segment_is_left_to_it(database: Database, tmp_path: Path) -> None:
    promoter = SpoolPromoter(database.engine, tmp_path / "spool")
    with subprocess.Popen(
        writer_script(tmp_path / "spool", 5),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as alive:
        assert alive.stdin is not None
        assert alive.stdout is not None
        assert alive.stdout.readline().strip() == "written"
        assert promoter.adopt_orphans() == 0
        assert inbox(database) == []
        alive.stdin.write("go\n")
        alive.stdin.flush()
        alive.wait(10)
    assert promoter.adopt_orphans() == 5


def test_a_promoter_that_dies_mid_segment_leaves_no_body_to_be_moved_twice(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_in_a_process_that_dies(tmp_path / "spool", 9)
    dying = SpoolPromoter(database.engine, tmp_path / "spool", batch=4)
    real = spool_promoter.append_bodies
    calls = 0

    def dies_on_the_second_batch(connection: Connection, bodies: Any) -> None:
        """Dies after the second batch's offset is claimed, before its bodies are inserted."""
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("the process died here")
        real(connection, bodies)

    monkeypatch.setattr(spool_promoter, "append_bodies", dies_on_the_second_batch)
    with pytest.raises(RuntimeError):
        dying.adopt_orphans()
    monkeypatch.setattr(spool_promoter, "append_bodies", real)
    assert len(inbox(database)) == 4  # the first batch, and its offset, committed together

    successor = SpoolPromoter(database.engine, tmp_path / "spool", batch=4)
    assert successor.adopt_orphans() == 5
    assert inbox(database) == [f"req-{n}" for n in range(9)]


def test_a_spooled_body_keeps_what_the_web_process_knew(database: Database, tmp_path: Path) -> None:
    writer = SpoolWriter(tmp_path / "spool")
    promoter = SpoolPromoter(database.engine, tmp_path / "spool", writer)
    unknown = NewBody(b'{"what": 1}', "unknown", 0, BodyState.UNRECOGNIZED, RECEIVED, None)
    writer.write(unknown, 5)
    promoter.run_once()
    with database.sessions() as session:
        row = session.scalars(select(InboxBody)).one()
    assert (row.body, row.shape, row.event_count, row.state, row.request_id) == (
        b'{"what": 1}',
        "unknown",
        0,
        BodyState.UNRECOGNIZED,
        None,
    )
    assert row.received_at == RECEIVED
    assert row.available_at == RECEIVED


def test_records_land_in_zeros_written_ahead_and_a_sealed_segment_is_cut_back_to_them(
    database: Database, tmp_path: Path
) -> None:
    writer = SpoolWriter(tmp_path / "spool", segment_bytes=3 * PREALLOCATED)
    writer.write(body(0), 5)
    (segment,) = writer.segments()
    ahead = segment.path.stat().st_size
    assert ahead >= PREALLOCATED  # zeros ahead of the first record
    writer.write(body(1), 5)
    assert segment.path.stat().st_size == ahead  # the second record landed in them
    large = 600_000
    for n in range(2, 8):  # past the zeros twice: the file grows ahead again
        writer.write(body(n, padding=large), 5)
    assert segment.path.stat().st_size > ahead
    records, end = read_records(segment.path, 0, limit=100, finished=False)
    assert [record.body.request_id for record in records] == [f"req-{n}" for n in range(8)]
    assert spool_backlog(database.engine, tmp_path / "spool") == (1, end - len(MAGIC))

    writer.write(body(8), 5)  # past segment_bytes: the full segment is sealed, settled, cut
    assert segment.sealed
    assert segment.path.stat().st_size == end
    promoter = SpoolPromoter(database.engine, tmp_path / "spool", writer)
    assert promoter.run_once() == 9
    assert spool_backlog(database.engine, tmp_path / "spool") == (1, 0)  # the new segment


def test_zeros_are_never_written_past_the_size_that_ends_a_segment(tmp_path: Path) -> None:
    writer = SpoolWriter(tmp_path / "spool", segment_bytes=4096)
    writer.write(body(0), 5)
    (segment,) = writer.segments()
    assert segment.path.stat().st_size == 4096  # not a MiB for a segment of 4 KiB
    writer.write(body(1, padding=5000), 5)  # a record past the end: no zeros after it
    records, end = read_records(segment.path, 0, limit=10, finished=False)
    assert len(records) == 2
    assert segment.path.stat().st_size == end


def test_a_long_record_grows_the_file_itself_rather_than_being_written_over_zeros(
    tmp_path: Path,
) -> None:
    writer = SpoolWriter(tmp_path / "spool")
    writer.write(body(0, padding=LONG_RECORDS), 5)  # a Brevo batch's size: no zeros ahead
    (segment,) = writer.segments()
    records, end = read_records(segment.path, 0, limit=10, finished=False)
    assert segment.path.stat().st_size == end
    writer.write(body(1), 5)  # a short one: zeros ahead again
    assert segment.path.stat().st_size > end + PREALLOCATED // 2
    records, _ = read_records(segment.path, 0, limit=10, finished=False)
    assert [record.body.request_id for record in records] == ["req-0", "req-1"]
