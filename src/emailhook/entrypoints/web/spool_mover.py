"""A web host's spool mover: the process ``emailhook serve`` starts beside its server where
the web moves its own spool (``EMAILHOOK_SPOOL_MOVER=auto`` off SQLite, a host with no
worker), so that the answering processes keep their CPU for the answers.

It moves every segment of the machine's spool folder into the inbox every tenth of a second,
as a worker's sweep does, holding the folder's mover lock: the server processes' own movers
stand aside while it is held and take the moving back if this process ends, however it ends.
It runs at ``EMAILHOOK_WORKER_NICE`` (10): under load the answers come first, and what it has
not moved yet waits, synced, in the spool. It ends with SIGTERM or SIGINT, and with the
server it was started beside (``PR_SET_PDEATHSIG``). docs/performance.md, "The webhook front",
says why a process of its own.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import sys
import threading
from collections.abc import Sequence

from emailhook.composition import load_settings
from emailhook.composition.web import web_host_mover
from emailhook.entrypoints.priority import lower_priority
from emailhook.observability import configure

_PR_SET_PDEATHSIG = 1


def _end_with_parent(parent: int) -> None:
    """Have the kernel send SIGTERM here when ``parent`` ends (Linux); end now if it has."""
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # ended before the request above took effect
        raise SystemExit(0)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Move a web host's spool into the inbox.")
    parser.add_argument("--parent", type=int, required=True, help="the server's process id")
    args = parser.parse_args(argv)
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    _end_with_parent(args.parent)
    settings = load_settings()
    configure(settings, metrics=False)
    lower_priority(settings.worker_nice)
    web_host_mover(settings).move_forever(stop)


if __name__ == "__main__":
    main()
