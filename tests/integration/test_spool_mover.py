"""The spool moved by another process than its writer's (``spool_mover=worker``): live
segments as far as they are synced, released ones to their end, each body once."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from emailhook.adapters.db.engine import Database
from emailhook.adapters.intake.spool import SpoolWriter
from emailhook.adapters.intake.spool_promoter import SpoolPromoter
from support.spool_files import body, inbox, writer_script


def test_the_machines_mover_moves_a_live_writers_records_then_finishes_its_segment(
    database: Database, tmp_path: Path
) -> None:
    """spool_mover=worker: the worker's sweep moves what a running web process synced."""
    mover = SpoolPromoter(database.engine, tmp_path / "spool")
    with subprocess.Popen(
        writer_script(tmp_path / "spool", 5),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as alive:
        assert alive.stdin is not None
        assert alive.stdout is not None
        assert alive.stdout.readline().strip() == "written"
        assert mover.move_folder() == 5  # its writer still holds the segment
        assert inbox(database) == [f"req-{n}" for n in range(5)]
        assert len(list((tmp_path / "spool").glob("*.seg"))) == 1
        assert mover.move_folder() == 0
        alive.stdin.write("go\n")
        alive.stdin.flush()
        alive.wait(10)
    assert mover.move_folder() == 0  # its writer gone: nothing more, and the file deleted
    assert not list((tmp_path / "spool").glob("*.seg"))
    assert inbox(database) == [f"req-{n}" for n in range(5)]


def test_a_writer_releases_its_sealed_segments_to_the_mover_which_moves_each_body_once(
    database: Database, tmp_path: Path
) -> None:
    writer = SpoolWriter(tmp_path / "spool", segment_bytes=2048, release_settled=True)
    mover = SpoolPromoter(database.engine, tmp_path / "spool")  # another process's, in effect

    def post(start: int) -> None:
        for n in range(start, start + 50):
            writer.write(body(n), 5)

    threads = [threading.Thread(target=post, args=(t * 50,)) for t in range(8)]
    for thread in threads:
        thread.start()
    moved = 0
    while any(thread.is_alive() for thread in threads):
        moved += mover.move_folder()
    moved += mover.move_folder()
    assert moved == 400
    assert sorted(inbox(database)) == sorted(f"req-{n}" for n in range(400))
    # sealed segments released by the writer, moved to their end and deleted by the mover
    assert len(writer.segments()) == 1
    assert len(list((tmp_path / "spool").glob("*.seg"))) == 1


def test_a_web_process_moving_its_own_released_segments_moves_each_body_once(
    database: Database, tmp_path: Path
) -> None:
    """The tests' clients call ``run_once`` where the worker would move the spool."""
    writer = SpoolWriter(tmp_path / "spool", segment_bytes=512, release_settled=True)
    promoter = SpoolPromoter(database.engine, tmp_path / "spool", writer)
    moved = 0
    for n in range(40):
        writer.write(body(n), 5)
        if n % 7 == 0:
            moved += promoter.run_once()
    moved += promoter.run_once()
    assert moved == 40
    # released segments are taken as a stopped writer's, after the live one: no order across
    assert sorted(inbox(database)) == sorted(f"req-{n}" for n in range(40))
    assert len(list((tmp_path / "spool").glob("*.seg"))) == 1


def mover_script(url: str, directory: Path) -> list[str]:
    """A process moving ``directory`` in small transactions until it is killed."""
    script = textwrap.dedent(
        f"""
        import threading
        from pathlib import Path
        from emailhook.adapters.db.engine import open_database
        from emailhook.adapters.intake.spool_promoter import SpoolPromoter
        from emailhook.settings import Settings
        db = open_database(Settings(database_url={url!r}), lock_timeout_seconds=5)
        mover = SpoolPromoter(db.engine, Path({str(directory)!r}), batch=7, poll_seconds=0.001)
        mover.move_forever(threading.Event())
        """
    )
    return [sys.executable, "-c", script]


def test_a_mover_killed_mid_promotion_loses_and_doubles_no_body(
    database: Database, tmp_path: Path
) -> None:
    url = database.engine.url.render_as_string(hide_password=False)
    with subprocess.Popen(
        writer_script(tmp_path / "spool", 3000),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as alive:
        assert alive.stdin is not None
        assert alive.stdout is not None
        assert alive.stdout.readline().strip() == "written"
        mover = subprocess.Popen(mover_script(url, tmp_path / "spool"))
        try:
            deadline = time.monotonic() + 60
            while len(inbox(database)) < 100 and time.monotonic() < deadline:
                time.sleep(0.01)
        finally:
            mover.kill()  # SIGKILL, somewhere in its run of small transactions
            mover.wait(10)
        left_behind = len(inbox(database))
        assert 100 <= left_behind < 3000, left_behind
        # A successor takes over, its writer still alive, then once the writer is gone.
        successor = SpoolPromoter(database.engine, tmp_path / "spool")
        assert successor.move_folder() == 3000 - left_behind
        alive.stdin.write("go\n")
        alive.stdin.flush()
        alive.wait(10)
    assert successor.move_folder() == 0
    assert inbox(database) == [f"req-{n}" for n in range(3000)]
    assert not list((tmp_path / "spool").glob("*.seg"))


def test_the_movers_pass_that_moved_bodies_wakes_the_relay(
    database: Database, tmp_path: Path
) -> None:
    writer = SpoolWriter(tmp_path / "spool")
    mover = SpoolPromoter(database.engine, tmp_path / "spool", poll_seconds=0.01)
    woken = threading.Event()
    stop = threading.Event()
    thread = threading.Thread(target=mover.move_forever, args=(stop, woken.set))
    thread.start()
    try:
        time.sleep(0.1)
        assert not woken.is_set()  # passes that moved nothing wake nobody
        writer.write(body(1), 5)
        assert woken.wait(10)
        assert inbox(database) == ["req-1"]
    finally:
        stop.set()
        thread.join(10)


def _holder(directory: Path) -> list[str]:
    """A process that says it moves ``directory`` (as a worker's sweep does) until stdin ends."""
    script = f"""
        import sys
        from pathlib import Path
        from emailhook.adapters.intake.spool import moving_here
        with moving_here(Path({str(directory)!r})):
            print("held", flush=True)
            sys.stdin.readline()
    """
    return [sys.executable, "-c", textwrap.dedent(script)]


def test_a_web_process_leaves_its_spool_to_a_worker_of_its_machine_and_moves_it_when_none_runs(
    database: Database, tmp_path: Path
) -> None:
    """spool_mover=auto off SQLite: the web's own thread stands aside while a worker moves."""
    folder = tmp_path / "spool"
    writer = SpoolWriter(folder, release_settled=True)
    web = SpoolPromoter(database.engine, folder, writer, poll_seconds=0.05, defer_to_worker=True)
    with subprocess.Popen(
        _holder(folder), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as worker:
        assert worker.stdin is not None
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == "held"
        for n in range(5):
            writer.write(body(n), 5)
        web.ensure_running()
        time.sleep(0.6)  # a dozen of the web thread's steps
        assert inbox(database) == []  # left to the worker (which moves nothing here)
        worker.stdin.close()  # the worker stops: the web moves its own
        worker.wait(10)
    deadline = time.monotonic() + 10
    while len(inbox(database)) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert inbox(database) == [f"req-{n}" for n in range(5)]


def test_the_workers_sweep_says_it_moves_the_folder_for_as_long_as_it_runs(
    database: Database, tmp_path: Path
) -> None:
    folder = tmp_path / "spool"
    asked = textwrap.dedent(
        f"""
        from pathlib import Path
        from emailhook.adapters.intake.spool import moved_by_another
        print(moved_by_another(Path({str(folder)!r})))
        """
    )

    def another_process_sees_a_mover() -> bool:
        said = subprocess.run([sys.executable, "-c", asked], capture_output=True, text=True)
        return said.stdout.strip() == "True"

    assert not another_process_sees_a_mover()
    stop = threading.Event()
    sweep = SpoolPromoter(database.engine, folder)
    thread = threading.Thread(target=sweep.move_forever, args=(stop,))
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not another_process_sees_a_mover():
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(10)
    assert not another_process_sees_a_mover()
