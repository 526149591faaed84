"""Flask behind the webhook front: every request the front does not answer itself (the query
API, the dashboard, ops) runs in the WSGI app on a thread of a pool, with the environ a WSGI
server gives it.

The body is read before the app runs, at most one byte past the app's limit: the app then
refuses a longer one with 413 as it would have (Werkzeug checks ``CONTENT_LENGTH`` against
``MAX_CONTENT_LENGTH``, and reads a chunked body up to it), and the process never holds more.
A response is sent whole, or streamed when the app streams it (the suppressions CSV).
A POST to a *streamed* path (a campaign's upload: a million recipients) is not read first:
the app reads it from the server as it goes, a chunk at a time, with no limit but its own.
"""

from __future__ import annotations

import asyncio
import io
import sys
from collections.abc import AsyncIterator, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO
from typing import TYPE_CHECKING, Any

from emailhook.entrypoints.web.exchange import Exchange, Head

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment

#: a response is sent whole up to this size, streamed past it
_WHOLE_BYTES = 1024 * 1024


def environ_headers(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Return request headers as WSGI environ keys: ``HTTP_X_NAME`` (a ``-`` and a ``_``
    alike, as granian's and gunicorn's WSGI servers write them), repeated headers joined by
    commas."""
    environ: dict[str, str] = {}
    for name, value in items:
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


class WsgiBridge:
    """Runs a WSGI app for the server's requests on ``threads`` threads of this process."""

    def __init__(
        self,
        app: WSGIApplication,
        *,
        threads: int,
        max_body_bytes: int,
        streamed: frozenset[str] = frozenset(),
    ) -> None:
        """``streamed``: the paths whose POST body the app reads from the server as it goes
        (checked against the app's own limit for it), instead of read first."""
        self._app = app
        self._threads = threads
        self._limit = max_body_bytes
        self._streamed = streamed
        self._pool: ThreadPoolExecutor | None = None

    def start(self) -> None:
        """Start the threads (in the server process: a pool does not survive a fork)."""
        self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix="emailhook-flask")

    def stop(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    @property
    def pool(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self.start()
        assert self._pool is not None
        return self._pool

    async def __call__(self, head: Head, exchange: Exchange) -> None:
        environ = self.environ(head)
        announced = environ.get("CONTENT_LENGTH")
        loop = asyncio.get_running_loop()
        if head.method == "POST" and head.path in self._streamed:
            environ["wsgi.input"] = io.BufferedReader(StreamedBody(exchange.chunks(), loop))
        elif announced is None or (announced.isdigit() and int(announced) <= self._limit):
            environ["wsgi.input"] = BytesIO(await exchange.read_at_most(self._limit + 1))
        status, headers, first, rest = await loop.run_in_executor(self.pool, self._call, environ)
        if rest is None:
            await exchange.answer(status, headers, first)
            return
        try:
            await exchange.start_stream(status, headers)
            await exchange.send(first)
            while (chunk := await loop.run_in_executor(self.pool, next, rest, None)) is not None:
                await exchange.send(chunk)
            await exchange.end()
        finally:
            await loop.run_in_executor(self.pool, _close, rest)

    def environ(self, head: Head) -> WSGIEnvironment:
        host, port = head.server
        environ: dict[str, Any] = environ_headers(head.headers)
        environ.update(
            {
                "REQUEST_METHOD": head.method,
                "SCRIPT_NAME": "",
                "PATH_INFO": head.path.encode().decode("latin-1"),
                "QUERY_STRING": head.query_string.decode("latin-1"),
                "SERVER_NAME": host,
                "SERVER_PORT": "" if port is None else str(port),
                "SERVER_PROTOCOL": f"HTTP/{head.http_version}",
                "REMOTE_ADDR": head.client,
                "GATEWAY_INTERFACE": "CGI/1.1",
                "SERVER_SOFTWARE": "emailhook",
                "wsgi.version": (1, 0),
                "wsgi.url_scheme": head.scheme,
                "wsgi.input": BytesIO(),
                "wsgi.errors": sys.stderr,
                "wsgi.multithread": True,
                "wsgi.multiprocess": True,
                "wsgi.run_once": False,
                # not in PEP 3333: the whole body is in wsgi.input (what granian and
                # gunicorn set, and what makes Werkzeug read a chunked body at all)
                "wsgi.input_terminated": True,
            }
        )
        return environ

    def _call(
        self, environ: WSGIEnvironment
    ) -> tuple[int, list[tuple[str, str]], bytes, Iterator[bytes] | None]:
        """Run the app; return its status, headers, and its body whole, or the first
        megabyte and an iterator of the rest."""
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], *_: Any) -> Any:
            started[:] = [int(status.split(" ", 1)[0]), headers]
            return _no_write

        result = self._app(environ, start_response)
        chunks = iter(result)
        head: list[bytes] = []
        size = 0
        for chunk in chunks:
            head.append(chunk)
            size += len(chunk)
            if size > _WHOLE_BYTES:
                status, headers = started
                return status, headers, b"".join(head), _Rest(chunks, result)
        _close(result)
        status, headers = started
        return status, headers, b"".join(head), None


class StreamedBody(io.RawIOBase):
    """A request body the app reads on its thread as the server receives it: each read the
    event loop hands over the next chunk, so the process holds a chunk, never the body."""

    def __init__(self, chunks: AsyncIterator[bytes], loop: asyncio.AbstractEventLoop) -> None:
        self._chunks = chunks
        self._loop = loop
        self._chunk = memoryview(b"")
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._chunk and not self._done:
            chunk = asyncio.run_coroutine_threadsafe(_next_chunk(self._chunks), self._loop).result()
            if chunk is None:
                self._done = True
            else:
                self._chunk = memoryview(chunk)
        size = min(len(buffer), len(self._chunk))
        buffer[:size] = self._chunk[:size]
        self._chunk = self._chunk[size:]
        return size


async def _next_chunk(chunks: AsyncIterator[bytes]) -> bytes | None:
    """Return the body's next chunk, None at its end."""
    try:
        return await anext(chunks)
    except StopAsyncIteration:
        return None


class _Rest(Iterator[bytes]):
    """The rest of a streamed response; closing it closes the app's result."""

    def __init__(self, chunks: Iterator[bytes], result: Iterable[bytes]) -> None:
        self._chunks, self._result = chunks, result

    def __next__(self) -> bytes:
        return next(self._chunks)

    def close(self) -> None:
        _close(self._result)


def _close(result: Any) -> None:
    close = getattr(result, "close", None)
    if close is not None:
        close()


def _no_write(data: bytes) -> None:
    raise NotImplementedError("write() of start_response is not supported")
