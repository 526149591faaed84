"""The server writes what one turn of the loop sends on a connection as one write: an answer's
head and body leave in one ``send``, in order, and nothing is left unsent when it closes."""

from __future__ import annotations

import asyncio
from typing import Any

from emailhook.entrypoints.web.server import _JoinedWrites


class Transport:
    """A connection's transport that records what is written to it."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed
        self.writes.append(data)

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 8000) if name == "sockname" else default


def test_the_head_and_body_of_an_answer_leave_in_one_write() -> None:
    async def scenario() -> list[bytes]:
        transport = Transport()
        joined = _JoinedWrites(transport, asyncio.get_running_loop())  # type: ignore[arg-type]
        joined.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        joined.write(b"ok")
        assert transport.writes == []  # not before the turn ends
        await asyncio.sleep(0)
        joined.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        await asyncio.sleep(0)
        return transport.writes

    assert asyncio.run(scenario()) == [
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
        b"HTTP/1.1 204 No Content\r\n\r\n",
    ]


def test_closing_sends_what_was_written_first() -> None:
    async def scenario() -> Transport:
        transport = Transport()
        joined = _JoinedWrites(transport, asyncio.get_running_loop())  # type: ignore[arg-type]
        joined.write(b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n")
        joined.close()
        await asyncio.sleep(0)  # the flush scheduled by the write finds nothing left
        return transport

    transport = asyncio.run(scenario())
    assert transport.writes == [b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n"]
    assert transport.closed


def test_everything_else_is_the_transports() -> None:
    loop = asyncio.new_event_loop()
    try:
        joined = _JoinedWrites(Transport(), loop)  # type: ignore[arg-type]
        assert joined.get_extra_info("sockname") == ("127.0.0.1", 8000)
    finally:
        loop.close()
