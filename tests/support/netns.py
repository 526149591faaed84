"""Threads of the test process that live in a network namespace (``setns`` on one thread).

The multi-host tests' addresses exist only inside their namespaces: the test process (root
namespace) never opens a socket to them itself. Whatever it sends to a host (the load, the
ledger's queries, readiness checks) runs on a thread that entered a namespace for good, so
every socket that thread opens, and every reconnect, is made there.

    with NetnsThreads("ehmh123-lg", 16) as pool:
        pool.call(httpx.get, "http://10.231.1.11:8000/healthz")
"""

from __future__ import annotations

import ctypes
import os
import socket
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Any, ParamSpec, Self, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

CLONE_NEWNET = 0x40000000
NETNS_RUN_DIR = "/run/netns"
_libc = ctypes.CDLL(None, use_errno=True)


def enter(name: str) -> None:
    """Move the calling thread (only it) into network namespace ``name``, for good."""
    fd = os.open(f"{NETNS_RUN_DIR}/{name}", os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"setns({name}): {os.strerror(errno)}")
    finally:
        os.close(fd)


class NetnsThreads:
    """A thread pool whose threads all run in one network namespace."""

    def __init__(self, netns: str, threads: int = 1) -> None:
        self.netns = netns
        self._pool = ThreadPoolExecutor(threads, f"netns-{netns}", enter, (netns,))

    def submit(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        return self._pool.submit(fn, *args, **kwargs)

    def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn`` on one of the namespace's threads and return its result."""
        return self._pool.submit(fn, *args, **kwargs).result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


_CHECKERS: dict[str, NetnsThreads] = {}


def port_open_in(netns: str, host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether ``host:port`` accepts a connection from inside ``netns``."""
    checker = _CHECKERS.get(netns)
    if checker is None:
        checker = _CHECKERS[netns] = NetnsThreads(netns)

    def connect() -> bool:
        try:
            with socket.create_connection((host, port), timeout):
                return True
        except OSError:
            return False

    return checker.call(connect)


def forget(netns: str) -> None:
    """Stop the readiness-check thread of a namespace about to be deleted."""
    checker = _CHECKERS.pop(netns, None)
    if checker is not None:
        checker.close()


def call_in(netns: str, fn: Callable[..., Any], *args: Any) -> Any:
    """Run ``fn(*args)`` once on a short-lived thread in ``netns``."""
    with NetnsThreads(netns) as pool:
        return pool.call(fn, *args)
