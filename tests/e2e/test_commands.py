"""The brief's own commands, and the console script, start a working service."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import httpx
import pytest

from conftest import SEED_EVENTS
from support.stack import Stack, free_port, wait_until

pytestmark = pytest.mark.e2e


def test_flask_run_and_celery_worker_as_written_in_the_brief(
    tmp_path: Path, seed_bodies: dict[str, bytes]
) -> None:
    stack = Stack(tmp_path, f"sqlite:///{tmp_path / 'var' / 'emailhook.db'}", None)
    flask = [str(Path(sys.executable).parent / "flask"), "--app", "emailhook", "run"]
    try:
        stack.spawn("flask", ["-c", _exec_argv([*flask, "--port", str(stack.port)])])
        wait_until(stack._web_ready, 30, "flask run")
        stack.start_worker()
        for body in seed_bodies.values():
            assert stack.post(body).status_code == 200
        stack.wait_for_events(SEED_EVENTS)
    finally:
        stack.stop()


def test_emailhook_run_serves_and_stores_and_stops_on_ctrl_c(
    tmp_path: Path, seed_bodies: dict[str, bytes]
) -> None:
    port = free_port()
    stack = Stack(tmp_path, f"sqlite:///{tmp_path / 'var' / 'emailhook.db'}", None, port=port)
    run = stack.spawn("run", ["-m", "emailhook", "run", "--port", str(port)])
    try:
        wait_until(stack._web_ready, 30, "emailhook run")
        for body in seed_bodies.values():
            assert stack.post(body).status_code == 200
        stack.wait_for_events(SEED_EVENTS, timeout=60)
        run.popen.send_signal(signal.SIGINT)
        assert run.popen.wait(30) == 0
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{stack.base_url}/healthz", timeout=1)
    finally:
        stack.stop()


def _exec_argv(argv: list[str]) -> str:
    return f"import os; os.execv({argv[0]!r}, {argv!r})"
