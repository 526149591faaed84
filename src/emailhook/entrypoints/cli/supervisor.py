"""Run several long-lived commands as one: a signal or one child's death stops them all."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from types import FrameType

#: how long children get to finish their work after SIGTERM before they are killed
GRACE_SECONDS = 20.0


def run_together(commands: Mapping[str, Sequence[str]]) -> int:
    """Start every command, wait until one exits or we are told to stop; return an exit code."""
    children = {
        # Own sessions: Ctrl-C reaches only us, and each child gets exactly one SIGTERM.
        name: subprocess.Popen(list(cmd), start_new_session=True)
        for name, cmd in commands.items()
    }
    stopping: list[int] = []

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signum)

    previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stopping and all(child.poll() is None for child in children.values()):
            time.sleep(0.2)
        exited = [name for name, child in children.items() if child.poll() is not None]
        _terminate(children.values())
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if stopping:
        return 0
    print(f"emailhook: {', '.join(exited)} exited; stopped the rest")
    return 1


def _terminate(children: Iterable[subprocess.Popen[bytes]]) -> None:
    running = [c for c in children if c.poll() is None]
    for child in running:
        child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    for child in running:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
