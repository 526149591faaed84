"""A local stand-in for Infobip's API: a real HTTP server on 127.0.0.1 serving the endpoints
this service calls, from data the test sets, with faults the test injects.

    with FakeInfobip() as infobip:
        infobip.logs.append({...})
        infobip.fail("/email/4/logs", 429, times=2)
        api = InfobipApi(infobip.url, infobip.api_key)

It checks ``Authorization: App <key>`` (401 otherwise), pages logs by cursor and the rest by
page, filters logs by ``sentSince``/``sentUntil`` (written as Infobip writes them: a ``+``
that was not URL-encoded is refused), counts requests per path and notes when each came.
Shapes and limits follow ``/work/shared/docs/infobip-pull-and-channels.md``.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import parse_qs, urlsplit

import orjson

LOGS = "/email/4/logs"
DOMAINS = "/email/1/suppressions/domains"
SUPPRESSIONS = "/email/1/suppressions"
BLOCKLISTS = "/platform/1/blocklists"

#: ``html``: an HTML error page (a proxy's 502); ``truncated``: JSON cut mid-way;
#: ``endless_cursor``: a new nextCursor every page, forever; ``repeating_cursor``: the cursor
#: just sent comes back; ``missing_message_id``: the page's first item has no messageId
Fault = Literal["html", "truncated", "endless_cursor", "repeating_cursor", "missing_message_id"]
#: ``infobip``: the requestError form; ``e429``: the newer errorCode form
ErrorForm = Literal["infobip", "e429"]

TOO_MANY_REQUESTS: dict[str, Any] = {
    "requestError": {
        "serviceException": {"messageId": "TOO_MANY_REQUESTS", "text": "Too many requests"}
    }
}
E429: dict[str, Any] = {
    "errorCode": "E429",
    "description": "Too many requests sent.",
    "action": "Try again later.",
    "violations": [],
    "resources": [],
}
UNAUTHORIZED: dict[str, Any] = {
    "requestError": {
        "serviceException": {"messageId": "UNAUTHORIZED", "text": "Invalid login details"}
    }
}
_INSTANT = "%Y-%m-%dT%H:%M:%S.%f%z"


@dataclass
class _Injected:
    status: int | None
    fault: Fault | None
    form: ErrorForm
    times: int


class FakeInfobip:
    """The server and its data; every attribute may be set by the test before or between calls."""

    def __init__(self, api_key: str | None = None) -> None:
        self.api_key = api_key or secrets.token_urlsafe(24)
        self.logs: list[dict[str, Any]] = []
        self.domains: list[dict[str, Any]] = []
        self.suppressions: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        self.blocklist: list[dict[str, Any]] = []
        #: (method, body) of every accepted POST/DELETE /email/1/suppressions
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.requests: Counter[str] = Counter()
        #: monotonic time of each request, by path
        self.times: dict[str, list[float]] = defaultdict(list)
        #: the query of each request, by path
        self.queries: dict[str, list[dict[str, str]]] = defaultdict(list)
        #: headers of the last request (to check what the client sends)
        self.last_headers: dict[str, str] = {}
        self.lock = threading.Lock()
        self._injected: dict[str, deque[_Injected]] = defaultdict(deque)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def fail(self, path: str, status: int, *, times: int = 1, form: ErrorForm = "infobip") -> None:
        """Answer the next ``times`` requests to ``path`` with ``status`` (Infobip's JSON)."""
        self._injected[path].append(_Injected(status, None, form, times))

    def fault(self, path: str, fault: Fault, *, times: int = 1) -> None:
        """Answer the next ``times`` requests to ``path`` with ``fault``."""
        self._injected[path].append(_Injected(None, fault, "infobip", times))

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def take_injected(self, path: str) -> _Injected | None:
        with self.lock:
            queue = self._injected[path]
            if not queue:
                return None
            head = queue[0]
            head.times -= 1
            if head.times <= 0:
                queue.popleft()
            return head


def _handler_for(fake: FakeInfobip) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        state = fake

    return Handler


class _Handler(BaseHTTPRequestHandler):
    state: FakeInfobip
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: pytest shows what matters

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        split = urlsplit(self.path)
        path = split.path
        # keep_blank_values: an empty parameter is still sent; a raw '+' decodes to ' '
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fake = self.state
        with fake.lock:
            fake.requests[path] += 1
            fake.times[path].append(time.monotonic())
            fake.queries[path].append(query)
            fake.last_headers = {k.lower(): v for k, v in self.headers.items()}
        if self.headers.get("Authorization") != f"App {fake.api_key}":
            self._json(401, UNAUTHORIZED)
            return
        injected = fake.take_injected(path)
        if injected is not None and injected.status is not None:
            self._json(injected.status, _error_body(injected.status, injected.form))
            return
        fault = injected.fault if injected else None
        if fault == "html":
            page = b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>"
            self._send(502, page, "text/html; charset=utf-8")
            return
        route = _ROUTES.get((method, path))
        if route is None:
            self._json(404, {"requestError": {"serviceException": {"text": "Not found"}}})
            return
        status, answer = route(fake, query, body, fault)
        data = orjson.dumps(answer) if answer is not None else b""
        if fault == "truncated":
            data = data[: max(1, len(data) // 2)]
        self._send(status, data, "application/json")

    def _json(self, status: int, answer: object) -> None:
        self._send(status, orjson.dumps(answer), "application/json")

    def _send(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _error_body(status: int, form: ErrorForm) -> dict[str, Any]:
    if status == 429:
        return E429 if form == "e429" else TOO_MANY_REQUESTS
    text = "Something went wrong" if status >= 500 else "Bad request"
    return {"requestError": {"serviceException": {"messageId": str(status), "text": text}}}


def _bad_request(text: str) -> tuple[int, dict[str, Any]]:
    return 400, {"requestError": {"serviceException": {"messageId": "BAD_REQUEST", "text": text}}}


Answer = tuple[int, Any]
Route = Callable[[FakeInfobip, dict[str, str], bytes, Fault | None], Answer]


def _logs(fake: FakeInfobip, q: dict[str, str], _: bytes, fault: Fault | None) -> Answer:
    try:
        since = datetime.strptime(q["sentSince"], _INSTANT) if "sentSince" in q else None
        until = datetime.strptime(q["sentUntil"], _INSTANT) if "sentUntil" in q else None
        limit = int(q.get("limit", "50"))
    except ValueError as error:
        return _bad_request(f"bad parameter: {error}")
    if not 1 <= limit <= 1000:
        return _bad_request("limit must be 1..1000")
    with fake.lock:
        items = [
            item
            for item in fake.logs
            if (since is None or datetime.fromisoformat(item["sentAt"]) >= since)
            and (until is None or datetime.fromisoformat(item["sentAt"]) < until)
        ]
    cursor = q.get("cursor")
    offset = int(base64.urlsafe_b64decode(cursor.encode()).decode()) if cursor else 0
    page = [dict(item) for item in items[offset : offset + limit]]
    following = offset + limit
    next_cursor = _cursor(following) if following < len(items) else None
    if fault == "endless_cursor":
        next_cursor = _cursor(following)
    elif fault == "repeating_cursor":
        next_cursor = cursor or _cursor(0)
    elif fault == "missing_message_id" and page:
        page[0].pop("messageId", None)
    answer: dict[str, Any] = {"results": page, "cursor": {"limit": limit}}
    if next_cursor:
        answer["cursor"]["nextCursor"] = next_cursor
    return 200, answer


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(str(offset).encode()).decode()


def _page(q: dict[str, str], default_size: int) -> tuple[int, int]:
    return int(q.get("page", "0")), int(q.get("size", str(default_size)))


def _domains(fake: FakeInfobip, q: dict[str, str], _: bytes, __: Fault | None) -> Answer:
    page, size = _page(q, 100)
    items = fake.domains[page * size : (page + 1) * size]
    return 200, {"results": items, "paging": {"page": page, "size": size}}


def _suppressions(fake: FakeInfobip, q: dict[str, str], _: bytes, __: Fault | None) -> Answer:
    if not q.get("domainName") or q.get("type") not in ("BOUNCE", "COMPLAINT", "OVER_QUOTA"):
        return _bad_request("domainName and type are required")
    page, size = _page(q, 100)
    if not 1 <= size <= 1000:
        return _bad_request("size must be 1..1000")
    items = fake.suppressions[(q["domainName"], q["type"])][page * size : (page + 1) * size]
    return 200, {"results": items, "paging": {"page": page, "size": size}}


def _change_suppressions(method: str, types: tuple[str, ...]) -> Route:
    def route(fake: FakeInfobip, _: dict[str, str], body: bytes, __: Fault | None) -> Answer:
        request = orjson.loads(body)
        entries = request.get("suppressions")
        if not isinstance(entries, list) or not 1 <= len(entries) <= 10:
            return _bad_request("1 to 10 suppressions a request")
        for entry in entries:
            addresses = entry.get("emailAddress")
            if entry.get("type") not in types or not entry.get("domainName"):
                return _bad_request("bad type or domainName")
            if not isinstance(addresses, list) or not 1 <= len(addresses) <= 1000:
                return _bad_request("1 to 1000 addresses an entry")
        with fake.lock:
            fake.received.append((method, request))
        return 204, None

    return route


def _blocklists(fake: FakeInfobip, q: dict[str, str], _: bytes, __: Fault | None) -> Answer:
    page, size = _page(q, 20)
    if not 1 <= size <= 1000:
        return _bad_request("size must be 1..1000")
    items = [i for i in fake.blocklist if q.get("channel") in (None, i.get("channel"))]
    total_pages = max(1, -(-len(items) // size))
    paging = {"page": page, "size": size, "totalPages": total_pages, "totalResults": len(items)}
    return 200, {"results": items[page * size : (page + 1) * size], "paging": paging}


_ROUTES: dict[tuple[str, str], Route] = {
    ("GET", LOGS): _logs,
    ("GET", DOMAINS): _domains,
    ("GET", SUPPRESSIONS): _suppressions,
    ("POST", SUPPRESSIONS): _change_suppressions("POST", ("BOUNCE", "COMPLAINT")),
    ("DELETE", SUPPRESSIONS): _change_suppressions("DELETE", ("BOUNCE", "COMPLAINT", "OVER_QUOTA")),
    ("GET", BLOCKLISTS): _blocklists,
}
