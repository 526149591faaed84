"""Faults of our own processes and data: killed workers, poison, duplicates, a lost queue."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emailhook.adapters.intake.spool_promoter import spool_backlog
from support.http_calls import http_get
from support.ledger import (
    Background,
    assert_exactly_once,
    make_bodies,
    post_all,
    publish,
    stored_events,
)
from support.poison import POISON_ADDRESS, install_poison_trigger, poison_body
from support.stack import Stack, StackFactory

pytestmark = pytest.mark.faults


def test_worker_killed_with_sigkill_repeatedly_loses_and_doubles_nothing(
    fault_stack: Stack,
) -> None:
    bodies = make_bodies(400)
    with Background(fault_stack.base_url, bodies, duration=8) as load:
        for _ in range(3):
            load.wait_answered(100)  # 2 s of the load
            fault_stack.processes["worker"].kill()  # SIGKILL, the whole process group
            fault_stack.start_worker()
    fault_stack.wait_until_drained(timeout=90)

    assert load.ledger.statuses == {200: len(bodies)}
    assert_exactly_once(load.ledger, stored_events(fault_stack.engine))
    publish("worker-sigkill", load.ledger, fault_stack.count_events(), fault_stack.label)


def test_the_same_event_posted_concurrently_is_stored_once(fault_stack: Stack) -> None:
    (body,) = make_bodies(1, run="same")
    ledger = post_all(fault_stack.base_url, [body] * 40, concurrency=20)
    fault_stack.wait_until_drained()

    assert ledger.statuses == {200: 40}
    assert stored_events(fault_stack.engine) == dict.fromkeys(body.events, 1)
    publish("same-event", ledger, fault_stack.count_events(), fault_stack.label)


def test_a_poison_body_is_dead_lettered_and_the_rest_flows(fault_stack: Stack) -> None:
    install_poison_trigger(fault_stack.engine)
    poison = fault_stack.post(poison_body("fault"))
    assert poison.status_code == 200
    bodies = make_bodies(120)
    ledger = post_all(fault_stack.base_url, bodies, duration=2)
    fault_stack.wait_until_drained(timeout=60)

    (dead,) = fault_stack.rows(
        "SELECT request_id, state, attempts, last_error FROM inbox_body WHERE state <> 'done'"
    )
    assert (dead["request_id"], dead["state"], dead["attempts"]) == (
        poison.json()["request_id"],
        "dead",
        3,
    )
    assert "poisoned row" in dead["last_error"]
    stored = stored_events(fault_stack.engine)
    assert_exactly_once(ledger, stored)
    assert (
        fault_stack.scalar("SELECT count(*) FROM email_callback WHERE email = :e", e=POISON_ADDRESS)
        == 0
    )

    listing = subprocess.run(
        [sys.executable, "-m", "emailhook", "inbox", "list", "--state", "dead"],
        env=fault_stack.env(),
        cwd=fault_stack.workdir,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "poisoned row" in listing
    publish("poison", ledger, fault_stack.count_events(), fault_stack.label)


def test_sqlite_locked_past_the_busy_timeout_slows_no_answer_and_loses_nothing(
    make_stack: StackFactory, tmp_path: Path
) -> None:
    database = tmp_path / "var" / "emailhook.db"
    stack = make_stack(f"sqlite:///{database}", None).start()
    holder = (
        "import sqlite3, sys, time\n"
        "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True)\n"
        "time.sleep(float(sys.argv[2])); c.execute('ROLLBACK')\n"
    )
    bodies = make_bodies(300)
    with Background(stack.base_url, bodies, duration=6) as load:
        load.wait_answered(75)  # 1.5 s of the load
        with subprocess.Popen(
            [sys.executable, "-c", holder, str(database), "3"], stdout=subprocess.PIPE, text=True
        ) as lock:
            assert lock.stdout is not None
            assert lock.stdout.readline().strip() == "locked"
            lock.wait(10)
    assert stack.scalar("SELECT count(*) FROM spool_segment") > 0  # moved through the spool
    stack.wait_until_drained(timeout=60)

    # Acceptance only appends to the spool: a database locked for longer than any request
    # waits changes no answer; the bodies are moved once the lock is gone.
    assert load.ledger.statuses == {200: len(bodies)}, load.ledger.summary()
    assert load.ledger.max_latency < 1.5, load.ledger.summary()
    assert_exactly_once(load.ledger, stored_events(stack.engine))
    publish("sqlite-locked", load.ledger, stack.count_events(), stack.label)


def test_the_folder_queue_wiped_mid_run_is_rebuilt_from_the_inbox(
    make_stack: StackFactory, tmp_path: Path
) -> None:
    workdir = tmp_path
    stack = make_stack(f"sqlite:///{workdir / 'var' / 'emailhook.db'}", None)
    stack.start_web()  # no worker yet: the queue fills up
    bodies = make_bodies(200)
    ledger = post_all(stack.base_url, bodies, concurrency=4)
    worker = stack.start_worker()
    worker.kill()
    shutil.rmtree(workdir / "var" / "queue")  # the broker loses every message
    stack.start_worker()
    stack.wait_until_drained(timeout=60)

    assert ledger.statuses == {200: len(bodies)}
    assert_exactly_once(ledger, stored_events(stack.engine))
    publish("queue-wiped", ledger, stack.count_events(), stack.label)


def test_a_web_server_killed_under_load_loses_no_body_it_answered(
    make_stack: StackFactory, tmp_path: Path
) -> None:
    stack = make_stack(f"sqlite:///{tmp_path / 'var' / 'emailhook.db'}", None).start()
    bodies = make_bodies(300)
    with Background(stack.base_url, bodies, duration=4) as load:
        load.wait_answered(110)  # 1.5 s of the load
        stack.processes["web"].kill()  # SIGKILL mid-load: its spool is left behind, unmoved
    # The worker's sweep takes over the dead process's spool file.
    stack.wait_until_drained(timeout=60)

    assert load.ledger.statuses[200] > 0, load.ledger.summary()
    assert_exactly_once(load.ledger, stored_events(stack.engine))
    assert not list((tmp_path / "var" / "spool").glob("*.seg"))  # moved and deleted
    publish("web-sigkill", load.ledger, stack.count_events(), stack.label)


def test_bodies_answered_by_a_web_with_no_worker_wait_synced_in_its_spool_for_one(
    make_stack: StackFactory, tmp_path: Path
) -> None:
    # On the embedded default the worker moves every web process's spool (spool_mover=auto)
    stack = make_stack(f"sqlite:///{tmp_path / 'var' / 'emailhook.db'}", None)
    stack.start_web()
    bodies = make_bodies(200)
    ledger = post_all(stack.base_url, bodies, concurrency=4)
    assert ledger.statuses == {200: len(bodies)}
    time.sleep(0.5)  # five turns of a mover, had the web one
    assert stack.scalar("SELECT count(*) FROM inbox_body") == 0
    files, unmoved = spool_backlog(stack.engine, tmp_path / "var" / "spool")
    assert files == 1
    assert unmoved > 0
    metrics = http_get(f"{stack.base_url}/metrics", timeout=10).text  # what operators see
    assert f"emailhook_spool_unmoved_bytes {float(unmoved)}" in metrics

    stack.start_worker()  # moves the live web process's segment, then stores its bodies
    stack.wait_until_drained(timeout=60)
    assert_exactly_once(ledger, stored_events(stack.engine))
    assert len(list((tmp_path / "var" / "spool").glob("*.seg"))) == 1  # the web's live one
