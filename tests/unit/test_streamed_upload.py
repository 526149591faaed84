"""The bridge hands a streamed path's body to the app as the server receives it: the app reads
its first line before the rest has arrived, and reads every byte, past the bridge's limit."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from emailhook.entrypoints.web.exchange import Exchange, Head, Message
from emailhook.entrypoints.web.wsgi_bridge import WsgiBridge


def _head(path: str) -> Head:
    return Head(
        method="POST",
        path=path,
        query_string=b"",
        headers=[("content-type", "application/x-ndjson")],
        server=("127.0.0.1", 8000),
        client="127.0.0.1",
        scheme="http",
        http_version="1.1",
    )


class Protocol(Exchange):
    """The server's side of a request (ASGI): the body in chunks, counting those handed over."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self.parts = list(chunks)
        self.handed = 0
        self.answered: tuple[int, bytes] | None = None
        self._sent: list[Message] = []
        super().__init__(self._receive_chunk, self._keep)

    async def _receive_chunk(self) -> Message:
        await asyncio.sleep(0)
        self.handed += 1
        more = self.handed < len(self.parts)
        return {"type": "http.request", "body": self.parts[self.handed - 1], "more_body": more}

    async def _keep(self, message: Message) -> None:
        self._sent.append(message)
        if message["type"] == "http.response.body":
            self.answered = (self._sent[0]["status"], message["body"])


def _line_reader(protocol: Protocol, seen: dict[str, Any]) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        stream = environ["wsgi.input"]
        stream.readline()
        seen["handed_at_first_line"] = protocol.handed
        seen["rest"] = 1 + sum(1 for _ in iter(stream.readline, b""))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    return app


def test_a_streamed_paths_body_reaches_the_app_a_chunk_at_a_time_past_the_limit() -> None:
    lines = [b'{"email": "r%d@example.com"}\n' % n for n in range(2000)]
    protocol = Protocol(lines)
    seen: dict[str, Any] = {}
    bridge = WsgiBridge(
        _line_reader(protocol, seen), threads=1, max_body_bytes=1024, streamed=frozenset({"/up"})
    )
    try:
        asyncio.run(bridge(_head("/up"), protocol))
    finally:
        bridge.stop()
    assert protocol.answered == (200, b"ok")
    assert seen["handed_at_first_line"] < 10
    assert seen["rest"] == 2000


def test_another_paths_body_is_read_first_up_to_the_limit() -> None:
    protocol = Protocol([b"x\n"] * 10)
    seen: dict[str, Any] = {}
    bridge = WsgiBridge(
        _line_reader(protocol, seen), threads=1, max_body_bytes=1024, streamed=frozenset({"/up"})
    )
    try:
        asyncio.run(bridge(_head("/other"), protocol))
    finally:
        bridge.stop()
    assert seen["handed_at_first_line"] == 10
