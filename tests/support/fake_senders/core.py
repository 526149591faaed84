"""The shared core of the fake send APIs: a real HTTP server on 127.0.0.1, faults, a ledger.

Each provider module subclasses ``FakeSender`` and supplies its routes, its authentication and
its own error bodies; the core owns the socket, the order of events and the faults:

1. the request is read whole and kept in ``requests``;
2. a ``hang`` fault holds it unanswered (until ``release()`` or the end of the ``with``);
3. the provider authenticates it (401/403 in the provider's own words);
4. a ``fail``/``throttle`` fault answers the provider's error body (nothing accepted);
5. the route checks the request field by field and answers; the recipients it accepted go to
   the ``ledger``; an ``answer_late`` fault sends that answer only after a delay (the client
   has given up by then), a ``lose_answer`` fault closes the connection without one.

``refuse_connections()`` stops listening (connects fail with ECONNREFUSED) while keeping the
port, so ``accept_connections()`` brings the same URL back.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, Literal, Self
from urllib.parse import parse_qs, urlsplit

import orjson

from support.fake_senders.ledger import Accepted, Ledger

FaultKind = Literal["status", "throttle", "hang", "late", "lost"]


@dataclass(frozen=True)
class Request:
    """One request as the fake read it."""

    index: int
    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]  # lower-cased names
    body: bytes
    at: float  # time.monotonic()

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Answer:
    """What the provider answers; ``accepted`` goes to the ledger as the answer is sent."""

    status: int
    body: Any = b""  # bytes as they are, anything else JSON-encoded
    headers: dict[str, str] = field(default_factory=dict)
    accepted: list[Accepted] = field(default_factory=list)
    content_type: str = "application/json"

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        return orjson.dumps(self.body)


@dataclass
class _Fault:
    kind: FaultKind
    times: int
    path: str | None  # None: any path
    status: int = 0
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


Route = Callable[[Request], Answer]


class FakeSender:
    """A provider's send API on 127.0.0.1; subclasses set ``name``, ``routes`` and the hooks."""

    #: the provider's name, as in emailhook's provider registry
    name: ClassVar[str] = ""
    #: the path part of the provider's documented base URL (``base_url`` = ``url`` + this)
    base_path: ClassVar[str] = ""

    def __init__(self) -> None:
        self.ledger = Ledger()
        self.requests: list[Request] = []
        #: requests a route failed on (a bug of the fake: its tests assert there is none)
        self.crashes: list[str] = []
        #: recipients the provider refuses (address -> the provider's reason), for the
        #: providers that say so in the send answer; the others accept and drop them later
        self.suppressed: dict[str, str] = {}
        self.lock = threading.RLock()
        self._faults: deque[_Fault] = deque()
        self._release = threading.Event()
        self._closed = False
        self._server = self._new_server(0)
        self.port: int = self._server.server_address[1]
        self._thread: threading.Thread | None = None
        self._placeholder: socket.socket | None = None
        #: open client connections (keep-alive ones too): cut when the server stops
        self._connections: set[socket.socket] = set()

    # -- what subclasses provide -------------------------------------------------------------
    def routes(self) -> list[tuple[str, str, Route]]:
        """(method, path regex, handler) for each endpoint."""
        raise NotImplementedError

    def authenticate(self, request: Request) -> Answer | None:
        """None if the request carries valid credentials, else the provider's refusal."""
        raise NotImplementedError

    def error(self, status: int, message: str) -> Answer:
        """The provider's error answer for ``status`` (used by faults and by validation)."""
        raise NotImplementedError

    def throttled(self, retry_after: float) -> Answer:
        """The provider's 429 answer, with the rate-limit headers it documents."""
        return self.error(429, "Too many requests")

    def on_hold(self, request: Request) -> None:
        """A ``hang`` fault holds ``request`` (e.g. an idempotency key is now in flight)."""

    def on_release(self, request: Request) -> None:
        """The held ``request`` was let go without an answer."""

    # -- the test's controls -----------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return self.url + self.base_path

    def suppress(self, address: str, reason: str = "") -> None:
        with self.lock:
            self.suppressed[address.lower()] = reason

    def fail(
        self,
        status: int,
        *,
        times: int = 1,
        path: str | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next ``times`` requests with ``status`` (the provider's body unless given)."""
        self._add(_Fault("status", times, path, status, body, dict(headers or {})))

    def throttle(self, *, times: int = 1, retry_after: float = 1, path: str | None = None) -> None:
        """Answer the next ``times`` requests with the provider's own 429."""
        self._add(_Fault("throttle", times, path, delay=retry_after))

    def hang(self, *, times: int = 1, path: str | None = None) -> None:
        """Read the next ``times`` requests and never answer them (until ``release()``)."""
        self._add(_Fault("hang", times, path))

    def answer_late(self, delay: float, *, times: int = 1, path: str | None = None) -> None:
        """Accept the next ``times`` requests (ledger) but answer only ``delay`` seconds later."""
        self._add(_Fault("late", times, path, delay=delay))

    def lose_answer(self, *, times: int = 1, path: str | None = None) -> None:
        """Accept the next ``times`` requests (ledger), then close the connection unanswered."""
        self._add(_Fault("lost", times, path))

    @property
    def faults_pending(self) -> int:
        """How many injected faults have not met their request yet."""
        with self.lock:
            return sum(fault.times for fault in self._faults)

    def release(self) -> None:
        """Let every request hung so far go (its connection is closed unanswered)."""
        with self.lock:
            gate = self._release
            if not self._closed:
                self._release = threading.Event()
        gate.set()

    def refuse_connections(self) -> None:
        """Stop listening: connects to ``url`` fail with ECONNREFUSED; the port stays ours."""
        with self.lock:
            if self._placeholder is not None:
                return
            self._stop_server()
            placeholder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            placeholder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            placeholder.bind(("127.0.0.1", self.port))  # bound, not listening: refuses
            self._placeholder = placeholder

    def accept_connections(self) -> None:
        """Listen again on the same port after ``refuse_connections()``."""
        with self.lock:
            if self._placeholder is None:
                return
            self._placeholder.close()
            self._placeholder = None
            self._server = self._new_server(self.port)
            self._start_server()

    @contextlib.contextmanager
    def refusing(self) -> Iterator[None]:
        self.refuse_connections()
        try:
            yield
        finally:
            self.accept_connections()

    def bodies(self, path: str | None = None) -> list[Any]:
        """The JSON bodies received (on ``path``, or all)."""
        return [r.json() for r in list(self.requests) if path is None or r.path == path]

    # -- lifecycle -----------------------------------------------------------------------------
    def __enter__(self) -> Self:
        self._start_server()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        with self.lock:
            self._closed = True
            self._release.set()
            if self._placeholder is not None:
                self._placeholder.close()
                self._placeholder = None
            self._stop_server()

    def _new_server(self, port: int) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        server.daemon_threads = True
        return server

    def _start_server(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-{self.name}-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def _stop_server(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()
        # a down provider does not keep serving a client's pooled keep-alive connection
        for connection in list(self._connections):
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    # -- the core's own machinery ------------------------------------------------------------
    def _add(self, fault: _Fault) -> None:
        with self.lock:
            self._faults.append(fault)

    def _take(self, path: str) -> _Fault | None:
        with self.lock:
            for fault in self._faults:
                if fault.path is None or fault.path == path:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
            return None

    def _record(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Request:
        split = urlsplit(target)
        with self.lock:
            request = Request(
                index=len(self.requests),
                method=method,
                path=split.path,
                query=parse_qs(split.query, keep_blank_values=True),
                headers=headers,
                body=body,
                at=time.monotonic(),
            )
            self.requests.append(request)
        return request

    def _route(self, request: Request) -> Route | None:
        for method, pattern, handler in self.routes():
            if method == request.method and re.fullmatch(pattern, request.path):
                return handler
        return None

    def respond(self, request: Request, fault: _Fault | None) -> Answer:
        """The answer to ``request`` under ``fault`` (hang, late and lost are the handler's)."""
        denied = self.authenticate(request)
        if denied is not None:
            return denied
        if fault is not None and fault.kind == "throttle":
            return self.throttled(fault.delay)
        if fault is not None and fault.kind == "status":
            answer = self.error(fault.status, "injected fault")
            if fault.body is not None:
                answer.body = fault.body
            answer.headers.update(fault.headers)
            return answer
        route = self._route(request)
        if route is None:
            return self.error(404, f"no such endpoint: {request.method} {request.path}")
        try:
            return route(request)
        except orjson.JSONDecodeError as error:
            return self.error(400, f"body is not JSON: {error}")
        except Exception as error:  # a bug of the fake, not the provider's answer: say so
            self.crashes.append(f"{request.method} {request.path}: {error!r}")
            return self.error(500, f"the fake crashed: {error!r}")


def new_id(length: int = 16) -> str:
    return secrets.token_hex(length // 2)


def _handler_for(fake: FakeSender) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        state = fake

    return Handler


class _Handler(BaseHTTPRequestHandler):
    state: FakeSender
    protocol_version = "HTTP/1.1"
    #: the status line and headers go out in one write, the body in another: with Nagle on,
    #: the body waits for the client's delayed ACK (40 ms on Linux), 40 ms a call
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: pytest shows what matters

    def setup(self) -> None:
        super().setup()
        with self.state.lock:
            self.state._connections.add(self.connection)

    def finish(self) -> None:
        with self.state.lock:
            self.state._connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        fake = self.state
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        request = fake._record(self.command, self.path, headers, body)
        fault = fake._take(request.path)
        gate = fake._release  # release() swaps it: a later hang waits on the next one
        if fault is not None and fault.kind == "hang":
            fake.on_hold(request)
            gate.wait()
            fake.on_release(request)
            self._drop()
            return
        answer = fake.respond(request, fault)
        fake.ledger.add(answer.accepted)
        if fault is not None and fault.kind == "lost":
            self._drop()
            return
        if fault is not None and fault.kind == "late":
            gate.wait(fault.delay)
        with contextlib.suppress(OSError):  # a late answer meets a client that left
            self._send(answer)

    def _send(self, answer: Answer) -> None:
        data = answer.encoded()
        self.send_response(answer.status)
        if data:
            self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _drop(self) -> None:
        """Close the connection without a byte of answer."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
