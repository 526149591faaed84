"""The HTTP server ``emailhook serve`` becomes: uvicorn (httptools on uvloop) serving the
webhook front, each answer written to its socket at once.

A process reads, answers and writes each request on its one event loop, with no hand-off
between threads (granian's RSGI took six a webhook). ASGI sends an answer's head and body as
two messages, and uvicorn writes each as it comes: two ``send`` calls a request, and two reads
for the client. :class:`OneWritePerAnswer` joins what one turn of the loop writes to a
connection into one write, which cost a sixth less of the machine a request
(docs/performance.md, "The webhook front").

``emailhook serve`` replaces itself with ``python -m emailhook.entrypoints.web.server
--target <factory> --host H --port P --workers N``: each server process imports this module
and uvicorn, then calls the factory (``front.create_front``).
"""

from __future__ import annotations

import argparse
import asyncio
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


class OneWritePerAnswer(HttpToolsProtocol):
    """uvicorn's httptools protocol, its writes joined per turn of the loop."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_JoinedWrites(transport, self.loop))  # type: ignore[arg-type]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the webhook front with uvicorn.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--target", required=True, help="the ASGI app factory to serve")
    args = parser.parse_args(argv)
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
