"""``/webhooks/<provider>``: each request turned into one call of the provider webhooks
service, and its result into JSON. ``POST /webhooks/infobip`` is ``POST /email`` (webhook.py)."""

from __future__ import annotations

import orjson
from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import MethodNotAllowed

from emailhook.entrypoints.web.services import current_services
from emailhook.entrypoints.web.webhook import read_body
from emailhook.observability.logs import current_request_id
from emailhook.observability.metrics import metrics
from emailhook.providers.base import WebhookRequest
from emailhook.service.receive.webhooks import Answered

providers = Blueprint("providers", __name__)


@providers.route("/webhooks/<provider>", methods=["GET", "HEAD", "POST"])
def receive_provider(provider: str) -> Response:
    """Accept a provider's webhook body once authenticated and kept: 200; its probes: 200."""
    webhooks = current_services().providers
    if request.method != "POST":
        checked = webhooks.check(provider, request.method)
        if checked is None:
            allowed = ["POST", *sorted(webhooks.provider(provider).check_methods)]
            raise MethodNotAllowed(valid_methods=allowed)
        return _json({"ok": True, "check": checked.description})
    metrics().received.inc()
    raw = read_body(current_app.config["MAX_CONTENT_LENGTH"])
    offered = WebhookRequest(
        body=raw,
        headers={name.lower(): value for name, value in request.headers.items()},
        content_type=request.headers.get("Content-Type", ""),
        url=request.url,
        method=request.method,
        remote_addr=request.remote_addr,
    )
    result = webhooks.receive(provider, offered, request_id=current_request_id())
    if isinstance(result, Answered):
        return _json({"accepted": True, "events": 0, "control": result.description})
    metrics().accepted.labels(result.shape.value).inc()
    answer: dict[str, object] = {
        "accepted": True,
        "request_id": result.request_id,
        "provider": provider,
        "events": result.events,
    }
    if result.body_id is not None:
        answer["id"] = result.body_id
    return _json(answer)


def _json(answer: dict[str, object]) -> Response:
    return Response(orjson.dumps(answer), mimetype="application/json")
