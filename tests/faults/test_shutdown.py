"""Graceful shutdown: SIGTERM finishes what is in flight, and nothing is half-written."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from support.ledger import Background, assert_exactly_once, make_bodies, post_all, stored_events
from support.stack import StackFactory, wait_until

pytestmark = pytest.mark.faults

LOCK_HOLDER = (
    "import sqlite3, sys, time\n"
    "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
    "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True)\n"
    "time.sleep(float(sys.argv[2])); c.execute('ROLLBACK')\n"
)


def test_sigterm_to_the_web_server_finishes_requests_in_flight(
    make_stack: StackFactory, tmp_path: Path
) -> None:
    database = tmp_path / "var" / "emailhook.db"
    stack = make_stack(f"sqlite:///{database}", None)
    web = stack.start_web()
    bodies = make_bodies(8)
    # Hold the database for 0.4 s (under the 1 s lock timeout): requests sent now are in
    # flight, waiting inside the server, when it is told to stop.
    with subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(database), "0.4"],
        stdout=subprocess.PIPE,
        text=True,
    ) as lock:
        assert lock.stdout is not None
        assert lock.stdout.readline().strip() == "locked"
        result: dict[str, object] = {}
        started = threading.Event()
        sender = threading.Thread(
            target=lambda: result.update(
                ledger=post_all(stack.base_url, bodies, concurrency=8, started=started)
            )
        )
        sender.start()
        started.wait(10)
        time.sleep(0.15)
        web.popen.send_signal(signal.SIGTERM)
        sender.join()
        lock.wait(10)
    assert web.popen.wait(20) == 0

    ledger = result["ledger"]
    assert ledger.statuses == {200: len(bodies)}, ledger.summary()  # type: ignore[attr-defined]
    stack.start_worker()
    stack.wait_until_drained()
    assert_exactly_once(ledger, stored_events(stack.engine))  # type: ignore[arg-type]


def test_sigterm_to_the_worker_finishes_its_work_and_leaves_nothing_half_written(
    make_stack: StackFactory, tmp_path: Path
) -> None:
    # Small messages: the SIGTERM lands while most of the backlog is still to do.
    database_url = f"sqlite:///{tmp_path / 'var' / 'emailhook.db'}"
    stack = make_stack(database_url, None, EMAILHOOK_RELAY_BATCH_BODIES="50")
    stack.start_web()
    bodies = make_bodies(3000)
    with Background(stack.base_url, bodies, concurrency=8) as load:
        pass
    worker = stack.start_worker()
    wait_until(lambda: stack.count_events() > 0, 30, "the worker to start storing")
    worker.popen.send_signal(signal.SIGTERM)
    assert worker.popen.wait(60) == 0, worker.output()[-2000:]

    # Every body is either done with all its events, or pending with none of them.
    partial = stack.rows(
        "SELECT b.id, b.state, b.event_count, count(e.id) AS stored FROM inbox_body b"
        " LEFT JOIN email_callback e ON e.inbox_id = b.id GROUP BY b.id, b.state, b.event_count"
        " HAVING (b.state = 'done' AND count(e.id) <> b.event_count)"
        " OR (b.state = 'pending' AND count(e.id) > 0)"
    )
    assert partial == []
    assert stack.scalar("SELECT count(*) FROM inbox_body WHERE state = 'pending'") > 0

    stack.start_worker()
    stack.wait_until_drained(timeout=60)
    assert_exactly_once(load.ledger, stored_events(stack.engine))
