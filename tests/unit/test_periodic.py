"""Jobs on an interval in a worker thread: on time, past failures, off without credentials."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from emailhook.composition.worker import worker_services
from emailhook.entrypoints.worker.background import start_periodic
from emailhook.entrypoints.worker.periodic import run_every, start_every
from emailhook.settings import Settings


def test_a_job_runs_every_interval_and_a_failure_does_not_stop_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[float] = []
    stop = threading.Event()

    def job() -> None:
        calls.append(time.monotonic())
        if len(calls) == 2:
            raise RuntimeError("Infobip down")
        if len(calls) == 4:
            stop.set()

    run_every("reconcile", 0.02, job, stop, first_delay_seconds=0.0)
    assert len(calls) == 4
    assert "reconcile failed" in caplog.text


def test_setting_stop_ends_the_thread_before_the_next_run() -> None:
    stop = threading.Event()
    thread = start_every("sync", 3600, lambda: None, stop)
    stop.set()
    thread.join(timeout=2)
    assert not thread.is_alive()


def test_the_worker_starts_no_pulls_without_infobip_credentials(tmp_path: Path) -> None:
    stop = threading.Event()
    # the worker's prune (on by default) is not one of the pulls: off here
    settings = Settings(data_dir=tmp_path, prune_interval_minutes=0)
    assert start_periodic(worker_services(settings), stop) == []


def test_the_worker_starts_both_pulls_with_credentials_unless_turned_off(tmp_path: Path) -> None:
    stop = threading.Event()
    settings = Settings(
        data_dir=tmp_path,
        infobip_base_url="http://127.0.0.1:9",
        infobip_api_key="k-secret-1",
        suppression_sync_interval_minutes=0,
        prune_interval_minutes=0,
    )
    try:
        threads = start_periodic(worker_services(settings), stop)
        assert [t.name for t in threads] == ["emailhook-reconcile"]
    finally:
        stop.set()
    for thread in threads:
        thread.join(timeout=2)
        assert not thread.is_alive()
