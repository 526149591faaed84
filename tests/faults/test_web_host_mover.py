"""A web host with no worker (PostgreSQL, ``spool_mover=auto``): ``emailhook serve`` moves
the spool in a process beside its server, at the worker's priority, not in the answering
processes; if that process dies the server processes move again, and it ends with the server."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from emailhook.adapters.intake.spool import moved_by_another
from support.ledger import make_bodies, post_all
from support.stack import StackFactory, wait_until


def _mover_of(web_pid: int) -> int | None:
    """The pid of the spool mover among the server's children, if one runs."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = next(line for line in status.splitlines() if line.startswith("PPid:"))
        if int(parent.split()[1]) == web_pid and b"spool_mover" in command:
            return int(entry.name)
    return None


def test_a_web_host_moves_its_spool_beside_the_server_and_its_servers_take_over_if_it_dies(
    make_stack: StackFactory, tmp_path: Path, postgres_url: str
) -> None:
    stack = make_stack(postgres_url, None)
    web = stack.start_web(workers=2)
    spool = tmp_path / "var" / "spool"
    wait_until(lambda: _mover_of(web.popen.pid) is not None, 10, "the spool mover")
    mover = _mover_of(web.popen.pid)
    assert mover is not None
    # it takes the lock once it has lowered its priority: found before that, it may not have
    wait_until(lambda: moved_by_another(spool), 10, "the mover's lock")
    assert os.getpriority(os.PRIO_PROCESS, mover) == 10

    first = post_all(stack.base_url, make_bodies(60), concurrency=4)
    assert first.statuses == {200: 60}
    wait_until(lambda: stack.scalar("SELECT count(*) FROM inbox_body") == 60, 20, "60 moved")

    os.kill(mover, signal.SIGKILL)  # the server processes move again, as on a host without it
    wait_until(lambda: not moved_by_another(spool), 10, "the lock let go")
    second = post_all(stack.base_url, make_bodies(60), concurrency=4)
    assert second.statuses == {200: 60}
    wait_until(lambda: stack.scalar("SELECT count(*) FROM inbox_body") == 120, 20, "120 moved")


def test_the_spool_mover_ends_with_the_server(make_stack: StackFactory, postgres_url: str) -> None:
    stack = make_stack(postgres_url, None)
    web = stack.start_web()
    wait_until(lambda: _mover_of(web.popen.pid) is not None, 10, "the spool mover")
    mover = _mover_of(web.popen.pid)
    web.popen.send_signal(signal.SIGTERM)
    assert web.popen.wait(20) == 0
    started = time.monotonic()
    while time.monotonic() - started < 10 and Path(f"/proc/{mover}").exists():
        if "Z" in Path(f"/proc/{mover}/stat").read_text().rsplit(")", 1)[1].split()[0]:
            break  # ended, not reaped yet (its parent is gone: init reaps it)
        time.sleep(0.05)
    else:
        assert not Path(f"/proc/{mover}").exists()


def test_no_mover_beside_the_server_on_the_embedded_default(
    make_stack: StackFactory, tmp_path: Path
) -> None:
    stack = make_stack(f"sqlite:///{tmp_path / 'var' / 'emailhook.db'}", None)
    web = stack.start_web()
    time.sleep(1)
    assert _mover_of(web.popen.pid) is None
