"""The HTTP server ``emailhook serve`` becomes: uvicorn (httptools on uvloop) serving the
webhook front, each answer written to its socket at once.

A process reads, answers and writes each request on its one event loop, with no hand-off
between threads (granian's RSGI took six a webhook). ASGI sends an answer's head and body as
two messages, and uvicorn writes each as it comes: two ``send`` calls a request, and two reads
for the client. :class:`OneWritePerAnswer` joins what one turn of the loop writes to a
connection into one write, which cost a sixth less of the machine a request
(docs/performance.md, "The webhook front"). It also bounds a request's line and headers, in
bytes and in time, which uvicorn's own protocol does not.

``emailhook serve`` replaces itself with ``python -m emailhook.entrypoints.web.server
--target <factory> --host H --port P --workers N``: each server process imports this module
and uvicorn, then calls the factory (``front.create_front``).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Sequence
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class _JoinedWrites:
    """A connection's transport whose writes of one turn of the loop go out as one."""

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(data)

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        if pending:
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


#: the most a request's line and headers may take: past it the request is answered 431 and
#: its connection closed (uvicorn's httptools protocol sets no limit of its own)
MAX_HEAD_BYTES = 64 * 1024
#: seconds a connection may take to send a request's line and headers, from its first byte
#: (uvicorn closes an idle kept-alive connection itself, but waits forever for a head)
HEAD_SECONDS = 30.0


class OneWritePerAnswer(HttpToolsProtocol):
    """uvicorn's httptools protocol, its writes joined per turn of the loop, a request's head
    bounded in size and in time."""

    _head_bytes = 0
    _in_head = True
    #: when the head being read began (the loop's clock): the connection's, then each request's
    _head_began = 0.0
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_JoinedWrites(transport, self.loop))  # type: ignore[arg-type]
        self._head_began = self.loop.time()
        self._head_timer = self.loop.call_later(HEAD_SECONDS, self._check_head)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        # Counted while a head is being read (a chunk that also ends one head and begins the
        # next counts for neither: a head may pass the limit by a read's size at most).
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._in_head and self._head_bytes > MAX_HEAD_BYTES:
            self._refuse_head()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._head_began = True, self.loop.time()

    def on_headers_complete(self) -> None:
        self._in_head, self._head_bytes = False, 0
        super().on_headers_complete()

    def _check_head(self) -> None:
        # One timer a connection, not one a request (a timer set and cancelled costs more
        # than the rest of this class a request): it looks at the head being read when it
        # fires, and fires again when that head's time would be up.
        left = self._head_began + HEAD_SECONDS - self.loop.time()
        if self._in_head and left <= 0:
            self._head_timer = None
            if not self.transport.is_closing():
                self.transport.close()
            return
        self._head_timer = self.loop.call_later(
            left if self._in_head else HEAD_SECONDS, self._check_head
        )

    def _refuse_head(self) -> None:
        from emailhook.entrypoints.web.errors import ErrorAnswer  # the web process's, loaded

        self._in_head = False
        if self.transport.is_closing():
            return
        answer = ErrorAnswer(
            431, "headers_too_large", f"the request line and headers exceed {MAX_HEAD_BYTES} bytes"
        )
        body = answer.body
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: application/json\r\nconnection: close\r\n"
            b"content-length: %d\r\n\r\n%s" % (len(body), body)
        )
        self.transport.close()


def _exit_cleanly(number: int, frame: object) -> None:
    raise SystemExit(0)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the webhook front with uvicorn.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--target", required=True, help="the ASGI app factory to serve")
    args = parser.parse_args(argv)
    # uvicorn stops gracefully on SIGTERM or SIGINT, then raises the signal again once the
    # handlers it replaced are back: these, so that a stop asked for and carried out ends
    # with status 0 (and Ctrl-C with no traceback), as a supervisor expects; before uvicorn
    # has taken the signals, they stop the process at once, as they would have.
    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, _exit_cleanly)
    uvicorn.run(
        args.target,
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        http=f"{__spec__.name if __spec__ else __name__}:OneWritePerAnswer",
        loop="uvloop",
        # HTTP/1.1 only (no provider posts over cleartext HTTP/2), no WebSocket, no lifespan
        ws="none",
        lifespan="off",
        # the peer's address as it connected, not as an X-Forwarded-For header claims it
        proxy_headers=False,
        server_header=False,
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
