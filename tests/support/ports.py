"""Ports for the servers the tests start, free of races between test processes.

A port found by binding port 0 and closing the socket can be taken by someone else before the
server started with it binds it: another pytest worker, another run from another worktree, or
any outgoing connection (the kernel takes those from the same ephemeral range). Here a port is
taken from below the ephemeral range (``net.ipv4.ip_local_port_range``, 32768-60999 by default,
where no outgoing connection ever lands) and reserved with an exclusive ``flock`` on a file of
its own under /tmp/emailhook-test-ports, held for the life of the test process. Every test
process of every worktree uses the same folder, so two of them never hand out the same port,
and a process that dies (even by SIGKILL) releases its ports with its file descriptors.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import socket
import tempfile
from collections.abc import Collection
from pathlib import Path

#: one lock file per port handed out, shared by every test process on the machine
LOCK_DIR = Path(tempfile.gettempdir()) / "emailhook-test-ports"
#: ports of the machine's own services and their helpers (epmd, RabbitMQ's distribution and
#: management ports, the rabbitmqctl range), never handed out
RESERVED = frozenset({4369, 5432, 5672, 6379, 15672, 25672, *range(35672, 35683)})
#: below the kernel's ephemeral range, above the well-known and usual registered services
FIRST, LAST = 20000, 32767

_held: dict[int, int] = {}  # port -> the descriptor that holds its lock


def _ephemeral_start() -> int:
    with contextlib.suppress(OSError, ValueError):
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    return 32768


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def reserve_port(exclude: Collection[int] = ()) -> int:
    """A port on 127.0.0.1 that no other test process will be given, and free right now."""
    LOCK_DIR.mkdir(mode=0o1777, exist_ok=True)
    last = min(LAST, _ephemeral_start() - 1)
    for _ in range(500):
        port = random.randint(FIRST, last)
        if port in RESERVED or port in exclude or port in _held:
            continue
        fd = os.open(LOCK_DIR / str(port), os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # another test process holds it
            os.close(fd)
            continue
        if not _bindable(port):  # something outside the tests listens there
            os.close(fd)
            continue
        _held[port] = fd
        return port
    raise RuntimeError(f"no free port in {FIRST}-{last} after 500 tries")
