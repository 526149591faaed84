"""One HTTP request and its answer as the server hands them over (ASGI), read by the webhook
front (front.py) and the Flask bridge (wsgi_bridge.py) alike.

``emailhook serve`` runs uvicorn (httptools on uvloop): each process answers on one thread,
its event loop, with no hand-off between threads per request (docs/performance.md, "The
webhook front"). An :class:`Exchange` is what a request of that loop reads and writes: the
request line and headers as text (:class:`Head`), the body whole or a chunk at a time, and the
answer whole or streamed. Nothing here imports the server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class ClientGoneError(ConnectionError):
    """The client went away before its request's body was read."""


@dataclass(frozen=True, slots=True)
class Head:
    """A request's line and headers: the path decoded, the query as sent, header names as
    sent (lower case), their values read as Latin-1 (as WSGI reads them)."""

    method: str
    path: str
    query_string: bytes
    headers: list[tuple[str, str]]
    #: the address the request came to, and the peer's address (without their ports)
    server: tuple[str, int | None]
    client: str
    scheme: str
    http_version: str

    @classmethod
    def of(cls, scope: Message) -> Head:
        """Return the head of an ASGI HTTP ``scope``."""
        server = scope.get("server") or ("", None)
        client = scope.get("client")
        raw = scope["headers"]
        return cls(
            method=scope["method"],
            path=scope["path"],
            query_string=scope["query_string"],
            headers=[(name.decode("latin-1"), value.decode("latin-1")) for name, value in raw],
            server=(server[0], server[1]),
            client=client[0] if client else "",
            scheme=scope.get("scheme", "http"),
            http_version=scope.get("http_version", "1.1"),
        )


class Exchange:
    """The body of one request, and its answer."""

    __slots__ = ("_more", "_receive", "_send")

    def __init__(self, receive: Receive, send: Send) -> None:
        self._receive = receive
        self._send = send
        self._more = True

    async def chunks(self) -> AsyncIterator[bytes]:
        """Yield the body a chunk at a time as it arrives (each chunk once)."""
        while self._more:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                self._more = False
                raise ClientGoneError("the client went away before the body ended")
            self._more = message.get("more_body", False)
            chunk = message.get("body", b"")
            if chunk:
                yield chunk

    async def body(self) -> bytes:
        """Return the whole body."""
        return b"".join([chunk async for chunk in self.chunks()])

    async def read_at_most(self, size: int) -> bytes:
        """Return the body, or its first ``size`` bytes when it is longer (the rest unread)."""
        chunks: list[bytes] = []
        read = 0
        async for chunk in self.chunks():
            chunks.append(chunk)
            read += len(chunk)
            if read >= size:
                break
        return b"".join(chunks)[:size]

    async def answer(self, status: int, headers: Iterable[tuple[str, str]], body: bytes) -> None:
        """Send the whole answer, its length said."""
        await self._send(_start(status, headers, len(body)))
        await self._send({"type": "http.response.body", "body": body})

    async def start_stream(self, status: int, headers: Iterable[tuple[str, str]]) -> None:
        """Begin an answer whose body follows with :meth:`send`, then :meth:`end`."""
        await self._send(_start(status, headers, None))

    async def send(self, chunk: bytes) -> None:
        await self._send({"type": "http.response.body", "body": chunk, "more_body": True})

    async def end(self) -> None:
        await self._send({"type": "http.response.body", "body": b""})


def _start(status: int, headers: Iterable[tuple[str, str]], length: int | None) -> Message:
    raw = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]
    if length is not None and not any(name.lower() == b"content-length" for name, _ in raw):
        raw.append((b"content-length", str(length).encode()))
    return {"type": "http.response.start", "status": status, "headers": raw}
