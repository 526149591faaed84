"""HTTP routes: each turns a request into one service call and the result into JSON."""

from __future__ import annotations

from typing import BinaryIO

import orjson
from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from emailhook.entrypoints.web.services import current_services
from emailhook.observability.logs import current_request_id
from emailhook.observability.metrics import metrics
from emailhook.service.receive.auth import Credentials

webhook = Blueprint("webhook", __name__)


@webhook.post("/email")
@webhook.post("/email/<token>")
@webhook.post("/webhooks/infobip")
@webhook.post("/webhooks/infobip/<token>")
def receive_email(token: str | None = None) -> Response:
    """Accept an Infobip webhook body from an authenticated sender: 200 once durably kept.

    ``/webhooks/infobip`` is the same route under the providers' paths.
    """
    metrics().received.inc()
    services = current_services()
    raw = read_body(current_app.config["MAX_CONTENT_LENGTH"])
    offered = Credentials(
        path_token=token,
        query_token=request.args.get("token"),
        headers=dict(request.headers.items()),
        body=raw,
    )
    services.auth.verify(offered, remote_addr=request.remote_addr)
    receipt = services.intake.accept(raw, request_id=current_request_id())
    metrics().accepted.labels(receipt.shape.value).inc()
    answer = {
        "accepted": True,
        "request_id": receipt.request_id,
        "shape": receipt.shape,
        "events": receipt.events,
    }
    if receipt.body_id is not None:  # a spooled body gets its inbox id when it is moved there
        answer["id"] = receipt.body_id
    # orjson, not jsonify: this is the hottest route, and jsonify's encoder costs more than it
    return Response(orjson.dumps(answer), mimetype="application/json")


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
