"""The server bounds a request's line and headers: past 64 KiB it answers 431 and closes the
connection, and a head that does not arrive in time has its connection closed; a head under
the limit is served. A real uvicorn server with emailhook's protocol, on a local socket."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import uvicorn

from emailhook.entrypoints.web import server


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
    )
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture
def address(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, int]]:
    monkeypatch.setattr(server, "HEAD_SECONDS", 0.5)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    # log_config and log_level None: uvicorn leaves this process's logging as it found it
    config = uvicorn.Config(
        _app,
        http=server.OneWritePerAnswer,
        lifespan="off",
        log_config=None,
        log_level=None,
        access_log=False,
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not running.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    try:
        yield listener.getsockname()
    finally:
        running.should_exit = True
        thread.join(10)


def _exchange(address: tuple[str, int], request: bytes) -> bytes:
    """Send ``request``; return all the server sent until it closed the connection."""
    with socket.create_connection(address, timeout=5) as conn:
        conn.sendall(request)
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
        return received


def test_a_head_under_the_limit_is_served(address: tuple[str, int]) -> None:
    head = (
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 60_000 + b"\r\nConnection: close\r\n\r\n"
    )
    assert _exchange(address, head).startswith(b"HTTP/1.1 200 ")


def test_a_head_past_the_limit_is_answered_431_and_its_connection_closed(
    address: tuple[str, int],
) -> None:
    head = b"POST /email HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (server.MAX_HEAD_BYTES + 10)
    answer = _exchange(address, head)  # the head never ends: the server stops reading it
    status, _, body = answer.partition(b"\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 431 ")
    assert orjson.loads(body)["error"] == "headers_too_large"


def test_a_head_that_does_not_arrive_in_time_has_its_connection_closed(
    address: tuple[str, int],
) -> None:
    started = time.monotonic()
    assert _exchange(address, b"POST /email HTTP/1.1\r\nHost: x\r\n") == b""
    assert 0.4 < time.monotonic() - started < 4


def test_a_connection_that_sends_nothing_is_closed_in_time(address: tuple[str, int]) -> None:
    started = time.monotonic()
    assert _exchange(address, b"") == b""
    assert time.monotonic() - started < 4
