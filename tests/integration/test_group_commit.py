"""Group commit against a real database: ids, batching, and deadlines that keep nothing."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from emailhook.adapters.db.engine import Database, open_database
from emailhook.adapters.intake.group_commit import GroupCommitWriter
from emailhook.domain.clock import utcnow
from emailhook.domain.inbox import BodyState, NewBody
from emailhook.settings import Settings


def new_body(n: int) -> NewBody:
    raw = b'{"notificationType": "OPENED", "eventId": "e-%d"}' % n
    return NewBody(raw, "tracking_event", 1, BodyState.PENDING, utcnow(), f"req-{n}")


def test_concurrent_writers_each_get_the_id_of_their_own_body(database: Database) -> None:
    writer = GroupCommitWriter(database.engine)
    ids: dict[int, int] = {}

    def write(n: int) -> None:
        ids[n] = writer.write(new_body(n), timeout=10)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(set(ids.values())) == 60
    with database.engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT id, request_id FROM inbox_body")).all())
    assert {body_id: rows[body_id] for body_id in ids.values()} == {
        body_id: f"req-{n}" for n, body_id in ids.items()
    }


def test_a_body_whose_caller_gave_up_waiting_for_the_lock_is_never_kept(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    database = open_database(settings, lock_timeout_seconds=2)
    writer = GroupCommitWriter(database.engine)
    writer.write(new_body(0), timeout=5)  # the writer thread and its connection are up

    holder = sqlite3.connect(tmp_path / "emailhook.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        writer.write(new_body(1), timeout=0.5)
    assert time.monotonic() - started < 1.0  # the deadline holds while the database is locked
    time.sleep(0.3)
    holder.execute("ROLLBACK")
    holder.close()

    assert writer.write(new_body(2), timeout=5) > 0
    with database.engine.connect() as conn:
        kept = [row[0] for row in conn.execute(text("SELECT request_id FROM inbox_body"))]
    assert sorted(kept) == ["req-0", "req-2"]
    database.engine.dispose()
