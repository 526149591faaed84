"""The brief's own commands, and the console script, start a working service."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from conftest import SEED_EVENTS
from support.http_calls import http_get
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
            http_get(f"{stack.base_url}/healthz", timeout=1)
    finally:
        stack.stop()


def _exec_argv(argv: list[str]) -> str:
    return f"import os; os.execv({argv[0]!r}, {argv!r})"


def test_worker_processes_run_below_the_web_servers_cpu_priority(
    tmp_path: Path, seed_bodies: dict[str, bytes]
) -> None:
    stack = Stack(tmp_path, f"sqlite:///{tmp_path / 'var' / 'emailhook.db'}", None)
    base = os.getpriority(os.PRIO_PROCESS, 0)
    try:
        stack.start()
        web = _threads_of_group(stack.processes["web"].popen.pid)
        worker = _threads_of_group(stack.processes["worker"].popen.pid)
        assert len(worker) > 3  # the main process with its relay thread, and the pool's
        assert {_nice(thread) for thread in web} == {base}
        assert {_nice(thread) for thread in worker} == {max(base, 10)}
        for body in seed_bodies.values():
            assert stack.post(body).status_code == 200
        stack.wait_for_events(SEED_EVENTS)
    finally:
        stack.stop()


def test_lowering_the_priority_never_raises_it() -> None:
    code = (
        "import os; from emailhook.entrypoints.priority import lower_priority; os.nice(15);"
        " lower_priority(10); print(os.getpriority(os.PRIO_PROCESS, 0))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout) == max(15, os.getpriority(os.PRIO_PROCESS, 0))


def _threads_of_group(pgid: int) -> list[Path]:
    """Every thread of process group ``pgid`` (the Stack starts each command in its own)."""
    threads = []
    for process in Path("/proc").glob("[0-9]*"):
        try:
            if int(_stat_fields(process)[2]) == pgid:
                threads += list((process / "task").iterdir())
        except OSError:  # gone meanwhile
            continue
    return threads


def _stat_fields(path: Path) -> list[str]:
    # The fields of /proc/<pid>/stat after the command name, which may hold spaces: state
    # (field 3 of stat) is [0], the process group [2], nice (field 19) [16].
    return (path / "stat").read_text().rpartition(")")[2].split()


def _nice(thread: Path) -> int:
    return int(_stat_fields(thread)[16])
