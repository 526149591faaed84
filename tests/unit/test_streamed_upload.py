"""The bridge hands a streamed path's body to the app as the server receives it: the app reads
its first line before the rest has arrived, and reads every byte, past the bridge's limit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

from emailhook.entrypoints.web.wsgi_bridge import WsgiBridge


@dataclass
class Scope:
    path: str
    method: str = "POST"
    http_version: str = "1.1"
    server: str = "127.0.0.1:8000"
    client: str = "127.0.0.1:5000"
    scheme: str = "http"
    query_string: str = ""
    headers: dict[str, str] = field(
        default_factory=lambda: {"content-type": "application/x-ndjson"}
    )


class Protocol:
    """The server's side of a request: the body in chunks, counting those handed over."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self.chunks = list(chunks)
        self.handed = 0
        self.answer: tuple[int, bytes] | None = None

    async def _each(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            self.handed += 1
            await asyncio.sleep(0)
            yield chunk

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._each()

    def response_bytes(self, status: int, _headers: Any, body: bytes) -> None:
        self.answer = (status, body)


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
        asyncio.run(bridge(Scope("/up"), protocol))  # type: ignore[arg-type]
    finally:
        bridge.stop()
    assert protocol.answer == (200, b"ok")
    assert seen["handed_at_first_line"] < 10
    assert seen["rest"] == 2000


def test_another_paths_body_is_read_first_up_to_the_limit() -> None:
    protocol = Protocol([b"x\n"] * 10)
    seen: dict[str, Any] = {}
    bridge = WsgiBridge(
        _line_reader(protocol, seen), threads=1, max_body_bytes=1024, streamed=frozenset({"/up"})
    )
    try:
        asyncio.run(bridge(Scope("/other"), protocol))  # type: ignore[arg-type]
    finally:
        bridge.stop()
    assert seen["handed_at_first_line"] == 10
