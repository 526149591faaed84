"""``emailhook spool recover``: a spool folder carried off a lost machine reaches the inbox once.

The "machines" here are folders: the lost machine's spool folder, and copies of it carried
elsewhere (no ``flock`` is shared between copies, as none is between machines). Whatever runs,
twice, at once, or after the lost machine came back and moved its own copy, every accepted body
is in the inbox exactly once.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import textwrap
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, select

from emailhook.adapters.db.engine import Database, open_database
from emailhook.adapters.db.models import InboxBody
from emailhook.adapters.intake import spool_promoter
from emailhook.adapters.intake.spool_promoter import SpoolPromoter
from emailhook.service.receive.spool_recovery import recover_folder
from emailhook.settings import Settings
from support.services import fresh_postgres_database


def write_and_die(directory: Path, count: int, *, segment_bytes: int = 16 << 20) -> None:
    """Write ``count`` bodies to ``directory`` in a process that then dies without cleaning up."""
    script = textwrap.dedent(
        f"""
        import os
        from datetime import UTC, datetime
        from pathlib import Path
        from emailhook.adapters.inbox.bodies import NewBody
        from emailhook.domain.inbox import BodyState
        from emailhook.adapters.intake.spool import SpoolWriter
        writer = SpoolWriter(Path({str(directory)!r}), segment_bytes={segment_bytes})
        at = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
        for n in range({count}):
            raw = b'{{"notificationType": "OPENED", "eventId": "e-%d"}}' % n
            writer.write(NewBody(raw, "tracking_event", 1, BodyState.PENDING, at, f"req-{{n}}"), 5)
        os._exit(9)  # as after a SIGKILL: no clean-up of any kind
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, check=False)
    assert done.returncode == 9, done.stderr.decode()


def carry(lost: Path, to: Path) -> Path:
    """Copy the lost machine's folder, as an operator would (``cp -a`` / rsync)."""
    shutil.copytree(lost, to)
    return to


def inbox_request_ids(db: Database) -> Counter[str | None]:
    with db.sessions() as session:
        return Counter(session.scalars(select(InboxBody.request_id)))


def assert_each_once(db: Database, count: int) -> None:
    ids = inbox_request_ids(db)
    twice = {request_id: n for request_id, n in ids.items() if n > 1}
    assert not twice, f"moved more than once: {list(twice.items())[:5]}"
    assert set(ids) == {f"req-{n}" for n in range(count)}


def test_a_recovered_folder_is_moved_once_however_often_recovery_runs(
    database: Database, tmp_path: Path
) -> None:
    write_and_die(tmp_path / "lost", 30, segment_bytes=1024)  # several segments
    copy = carry(tmp_path / "lost", tmp_path / "copy")
    first = recover_folder(database.engine, copy)
    assert (first.bodies, first.left) == (30, ())
    assert first.segments > 1
    assert not list(copy.glob("*.seg"))  # moved segments are deleted from the folder
    assert recover_folder(database.engine, copy).bodies == 0
    # a second copy of the same folder, carried later, finds every body moved
    again = recover_folder(database.engine, carry(tmp_path / "lost", tmp_path / "copy2"))
    assert (again.segments, again.bodies) == (first.segments, 0)
    # and so does the lost machine when it comes back and takes over its own folder
    assert SpoolPromoter(database.engine, tmp_path / "lost").adopt_orphans() == 0
    assert_each_once(database, 30)


def test_the_lost_machine_back_first_leaves_its_copy_nothing_to_move(
    database: Database, tmp_path: Path
) -> None:
    write_and_die(tmp_path / "lost", 12)
    copy = carry(tmp_path / "lost", tmp_path / "copy")
    assert SpoolPromoter(database.engine, tmp_path / "lost").adopt_orphans() == 12
    assert recover_folder(database.engine, copy).bodies == 0
    assert_each_once(database, 12)


def test_recovery_moves_only_what_the_lost_machine_had_not_moved(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_and_die(tmp_path / "lost", 9)
    real = spool_promoter.append_bodies
    batches = 0

    def machine_lost_on_the_second_batch(connection: Connection, bodies: Any) -> None:
        nonlocal batches
        batches += 1
        if batches == 2:
            raise RuntimeError("the machine is gone")
        real(connection, bodies)

    monkeypatch.setattr(spool_promoter, "append_bodies", machine_lost_on_the_second_batch)
    with pytest.raises(RuntimeError):
        SpoolPromoter(database.engine, tmp_path / "lost", batch=4).adopt_orphans()
    monkeypatch.setattr(spool_promoter, "append_bodies", real)
    assert sum(inbox_request_ids(database).values()) == 4

    copy = carry(tmp_path / "lost", tmp_path / "copy")
    assert recover_folder(database.engine, copy).bodies == 5
    assert_each_once(database, 9)


@pytest.fixture
def postgres_database() -> Iterator[Database]:
    with fresh_postgres_database(migrated=True) as url:
        db = open_database(Settings(database_url=url), lock_timeout_seconds=10)
        yield db
        db.engine.dispose()


def test_two_machines_moving_copies_of_a_segment_at_once_move_each_body_once(
    postgres_database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lost machine, back, adopts its folder while another machine recovers a copy of it.

    Both movers are held until each has read the same saved offset and is about to claim the
    same first run: one claim wins, the other waits on the row, finds it moved and inserts
    nothing; afterwards they run free over the remaining runs and segments.
    """
    database = postgres_database
    write_and_die(tmp_path / "lost", 400, segment_bytes=8 * 1024)
    copy = carry(tmp_path / "lost", tmp_path / "copy")
    real = spool_promoter.claim_run
    both_at_the_first_claim = threading.Barrier(2, timeout=30)
    outcomes: Counter[bool] = Counter()
    lock = threading.Lock()

    held: set[int] = set()

    def claim(connection: Connection, name: str, start: int, end: int, now: Any) -> bool:
        if threading.get_ident() not in held:  # only each mover's first claim is held
            held.add(threading.get_ident())
            both_at_the_first_claim.wait()
        won = real(connection, name, start, end, now)
        with lock:
            outcomes[won] += 1
        return won

    monkeypatch.setattr(spool_promoter, "claim_run", claim)
    moved: dict[str, int] = {}

    def back_machine() -> None:
        moved["back"] = SpoolPromoter(database.engine, tmp_path / "lost", batch=7).adopt_orphans()

    def recovering_machine() -> None:
        moved["copy"] = recover_folder(database.engine, copy).bodies

    threads = [threading.Thread(target=back_machine), threading.Thread(target=recovering_machine)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert set(moved) == {"back", "copy"}, "a mover failed (see the captured log)"
    assert outcomes[False] >= 1, f"the movers never met on a run: {outcomes}"
    assert moved["back"] + moved["copy"] == 400, moved
    assert_each_once(database, 400)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_the_recover_command_run_twice_at_once_moves_each_body_once(
    backend: str, tmp_path: Path
) -> None:
    write_and_die(tmp_path / "lost", 300, segment_bytes=4 * 1024)
    copies = [carry(tmp_path / "lost", tmp_path / f"copy{n}") for n in (1, 2)]
    sqlite = contextlib.nullcontext(f"sqlite:///{tmp_path / 'var' / 'emailhook.db'}")
    with fresh_postgres_database() if backend == "postgres" else sqlite as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("EMAILHOOK_")}
        env |= {"DATABASE_URL": url, "EMAILHOOK_DATA_DIR": str(tmp_path / "var")}
        upgrade = [sys.executable, "-m", "emailhook", "db", "upgrade"]
        subprocess.run(upgrade, env=env, check=True, capture_output=True)
        recoverers = [
            subprocess.Popen(
                [sys.executable, "-m", "emailhook", "spool", "recover", str(copy)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for copy in copies
        ]
        outputs = [process.communicate(timeout=60) for process in recoverers]
        assert [p.returncode for p in recoverers] == [0, 0], outputs
        moved = [int(out.split(" bodies moved", 1)[0].split()[-1]) for out, _ in outputs]
        assert sum(moved) == 300, outputs
        db = open_database(Settings(database_url=url), lock_timeout_seconds=5)
        try:
            assert_each_once(db, 300)
        finally:
            db.engine.dispose()
