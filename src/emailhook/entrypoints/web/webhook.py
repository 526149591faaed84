"""HTTP routes: each turns a request into one service call and the result into JSON.

Flask serves the webhooks under ``flask --app emailhook run`` and in tests; ``emailhook
serve`` answers them from the webhook front's event loop (front.py) instead, through the same
steps (receiving.py).
"""

from __future__ import annotations

from typing import BinaryIO

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from emailhook.entrypoints.web import receiving
from emailhook.entrypoints.web.receiving import Posted, Target
from emailhook.entrypoints.web.services import current_services
from emailhook.observability.logs import current_request_id
from emailhook.providers.registry import EMAIL_PROVIDER
from emailhook.service.receive.webhooks import Answered

webhook = Blueprint("webhook", __name__)


@webhook.post("/email")
@webhook.post("/email/<token>")
@webhook.post("/webhooks/infobip")
@webhook.post("/webhooks/infobip/<token>")
def receive_email(token: str | None = None) -> Response:
    """Accept an Infobip webhook body from an authenticated sender: 200 once durably kept.

    ``/webhooks/infobip`` is the same route under the providers' paths; the token segment is
    Infobip's (``url_token``).
    """
    return receive(Target(EMAIL_PROVIDER, token))


def receive(target: Target) -> Response:
    """Answer a webhook POST: 200 once its body is durably kept (this thread waits for it)."""
    receiving.arrived()
    services = current_services()
    provider = services.providers.find(target.provider)
    posted = Posted(
        body=read_body(current_app.config["MAX_CONTENT_LENGTH"]),
        headers=dict(request.headers.items()),
        query_token=request.args.get("token"),
        remote_addr=request.remote_addr,
        url=request.url if provider is not None and provider.reads_url else "",
        method=request.method,
    )
    admitted = receiving.admit(services, target, posted, current_request_id())
    outcome = admitted if isinstance(admitted, Answered) else services.intake.keep(admitted)
    # orjson, not jsonify: this is the hottest route, and jsonify's encoder costs more than it
    return Response(receiving.answer(target, outcome), mimetype="application/json")


def read_body(limit: int) -> bytes:
    """Return the request body, or raise 413 when it is longer than ``limit`` bytes."""
    if request.content_length is not None or not request.environ.get("wsgi.input_terminated"):
        # Werkzeug refuses a Content-Length over the limit before reading anything.
        return request.get_data(cache=False)
    # A chunked body has no length to check, and Werkzeug would silently cut it at the limit:
    # read one byte more than allowed, and refuse the body if it is there.
    raw = _read_at_most(request.environ["wsgi.input"], limit + 1)
    if len(raw) > limit:
        raise RequestEntityTooLarge()
    return raw


def _read_at_most(stream: BinaryIO, size: int) -> bytes:
    chunks: list[bytes] = []
    while size > 0:
        chunk = stream.read(min(size, 64 * 1024))
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)
