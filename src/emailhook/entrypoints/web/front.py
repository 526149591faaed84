"""The webhook front: the ASGI app ``emailhook serve`` runs in each uvicorn process.

Webhook POSTs (``/email``, ``/webhooks/<provider>``) are answered from the process's event
loop: each request is a coroutine that awaits its body's group commit (one sync of the spool
for every waiting request, which wakes them all at once), so no thread sleeps per body.
Every other request (the query API, the dashboard, ops, the providers' probes) goes to the
Flask app, run on a pool of threads (wsgi_bridge.py). Both serve the same services, and the
webhooks take the same steps as under Flask (receiving.py); why an event loop, and why this
server, measured: docs/performance.md, "Ingest" and "The webhook front".
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Iterable
from urllib.parse import parse_qsl

from werkzeug import urls  # noqa: F401 (registers the "werkzeug.url_quote" error handler)
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.sansio.utils import get_content_length, get_current_url, get_host

from emailhook.composition import load_settings
from emailhook.composition.web import WebServices, web_services
from emailhook.entrypoints.web import receiving
from emailhook.entrypoints.web.app import build_app
from emailhook.entrypoints.web.errors import error_answer
from emailhook.entrypoints.web.exchange import Exchange, Head, Message, Receive, Send
from emailhook.entrypoints.web.receiving import Posted
from emailhook.entrypoints.web.request_ids import HEADER, request_id_of
from emailhook.entrypoints.web.wsgi_bridge import WsgiBridge
from emailhook.observability import configure
from emailhook.observability.logs import bind_request_id, unbind_request_id
from emailhook.service.receive.intake import Admission
from emailhook.service.receive.webhooks import Answered

_JSON = ("content-type", "application/json")
_NOTHING: tuple[tuple[str, str], ...] = ()


class WebhookFront:
    """An ASGI application: webhooks on the event loop, the rest to Flask's threads."""

    def __init__(self, services: WebServices, flask: WsgiBridge) -> None:
        self._services = services
        self._flask = flask
        self._limit = services.settings.max_body_bytes

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # the server runs no lifespan and no WebSocket
            return
        head = Head.of(scope)
        exchange = Exchange(receive, send)
        if head.method == "POST":
            target = receiving.target_of(head.path)
            if target is not None:
                await self.receive(target, head, exchange)
                return
        await self._flask(head, exchange)

    async def receive(self, target: receiving.Target, head: Head, exchange: Exchange) -> None:
        """Answer a webhook POST: 200 once its body is durably kept, or the error's answer."""
        receiving.arrived()
        headers = werkzeug_headers(head.headers)
        request_id = request_id_of(headers.get("X-Request-Id", ""))
        context = bind_request_id(request_id)  # this coroutine's log lines carry it
        try:
            answer = await self._accept(target, head, headers, exchange, request_id)
            status, extra = 200, _NOTHING
        except Exception as error:  # every error is answered by errors.py, as under Flask
            refusal = error_answer(error)
            status, answer, extra = refusal.status, refusal.body, refusal.headers
        finally:
            unbind_request_id(context)
        await exchange.answer(status, [_JSON, (HEADER, request_id), *extra], answer)

    async def _accept(
        self,
        target: receiving.Target,
        head: Head,
        headers: dict[str, str],
        exchange: Exchange,
        request_id: str,
    ) -> bytes:
        length = get_content_length(headers.get("Content-Length"), headers.get("Transfer-Encoding"))
        receiving.refuse_announced_excess(length, self._limit)
        if length is not None:
            body = await exchange.body()
        else:  # chunked: read one byte more than allowed, and refuse the body if it is there
            body = await exchange.read_at_most(self._limit + 1)
            if len(body) > self._limit:
                raise RequestEntityTooLarge()
        services = self._services
        admitted: Admission | Answered
        provider = services.providers.find(target.provider)  # None: admit answers 404
        reads_url = provider is not None and provider.reads_url
        if provider is not None and provider.quick_check:  # an HMAC at most: on the loop
            admitted = self._admit_provider(target, head, headers, body, request_id, reads_url)
        else:  # a signature to verify (RSA, ECDSA), a certificate to fetch: on a thread
            admitted = await asyncio.get_running_loop().run_in_executor(
                self._flask.pool,
                contextvars.copy_context().run,
                self._admit_provider,
                target,
                head,
                headers,
                body,
                request_id,
                reads_url,
            )
        if isinstance(admitted, Answered):
            return receiving.answer(target, admitted)
        return receiving.answer(target, await services.intake.keep_async(admitted))

    def _admit_provider(
        self,
        target: receiving.Target,
        head: Head,
        headers: dict[str, str],
        body: bytes,
        request_id: str,
        reads_url: bool,
    ) -> Admission | Answered:
        url = ""
        if reads_url:  # built only for a provider that reads it (Mandrill signs it)
            url = get_current_url(
                head.scheme,
                get_host(head.scheme, headers.get("Host"), head.server),
                "",
                head.path,
                head.query_string,
            )
        query_token = _query_token(head.query_string)
        posted = Posted(body, headers, query_token, head.client, url, head.method)
        return receiving.admit(self._services, target, posted, request_id)


def werkzeug_headers(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Return request headers named as Werkzeug names WSGI's (``X-Webhook-Secret``: a ``_``
    is read as ``-``), repeated headers joined by commas as a WSGI server joins them."""
    headers: dict[str, str] = {}
    for name, value in items:
        key = name.replace("_", "-").title()
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    for empty in ("Content-Type", "Content-Length"):  # WSGI's CONTENT_* are left out if empty
        if headers.get(empty) == "":
            del headers[empty]
    return headers


def _query_token(query: bytes) -> str | None:
    """Return the query's first ``token``, as Werkzeug's ``request.args.get("token")``."""
    if not query:
        return None
    pairs = parse_qsl(query.decode(), keep_blank_values=True, errors="werkzeug.url_quote")
    return next((value for key, value in pairs if key == "token"), None)


def create_front() -> WebhookFront:
    """Return the front of a web process for this process's settings (uvicorn's factory),
    this process's observability configured first (log lines, masking, metrics' folder)."""
    settings = load_settings()
    configure(settings)
    services = web_services(settings)
    flask = WsgiBridge(
        build_app(services),
        threads=services.settings.web_threads,
        max_body_bytes=services.settings.max_body_bytes,
        # a campaign's upload is read a line at a time as it arrives, never held whole
        streamed=frozenset({"/campaigns"}),
    )
    return WebhookFront(services, flask)
