"""HTTP routes: each turns a request into one service call and the result into JSON."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from emailhook.logs import current_request_id
from emailhook.metrics import metrics
from emailhook.service.intake import Intake

webhook = Blueprint("webhook", __name__)


@webhook.before_request
def _count_received() -> None:
    metrics().received.inc()


@webhook.post("/email")
def receive_email() -> Response:
    """Accept an Infobip webhook body: 200 once it is durably kept."""
    intake: Intake = current_app.extensions["emailhook.intake"]
    receipt = intake.accept(request.get_data(cache=False), request_id=current_request_id())
    metrics().accepted.labels(receipt.shape.value).inc()
    return jsonify(accepted=True, id=receipt.body_id, shape=receipt.shape, events=receipt.events)
