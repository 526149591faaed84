"""Campaigns over HTTP: ``POST /campaigns`` (a JSON Lines upload, or the message and a CSV
or JSON Lines file of recipients as ``multipart/form-data``, read a line at a time),
``GET /campaigns/<id>``, its report ``GET /campaigns/<id>/report`` (CSV),
``POST /campaigns/<id>/pause|resume|cancel``.

Translation only: ``service.send.campaigns`` decides; errors become answers in ``errors.py``.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from emailhook.adapters.reads.campaign_report import COLUMNS as REPORT_COLUMNS
from emailhook.composition.send import SendWeb
from emailhook.domain.csv_cells import csv_lines
from emailhook.entrypoints.web.campaign_parts import (
    JSON_LINES_TYPES,
    blocks,
    lines_of,
    read_parts,
)
from emailhook.entrypoints.web.services import current_operators, current_services
from emailhook.service.errors import InvalidRequestError

campaigns = Blueprint("campaigns", __name__)

#: the upload's media types: JSON Lines by any of its names
JSON_LINES = JSON_LINES_TYPES
MULTIPART = "multipart/form-data"


def _send() -> SendWeb:
    return current_services().send


def _senders_only() -> None:
    _send().keys.require(request.headers.get("Authorization"))


def _senders_or_operators() -> None:
    """Reads take a send key, or the operators' credentials (as ``GET /messages``)."""
    authorization = request.headers.get("Authorization")
    if not _send().keys.matches(authorization):
        current_operators().verify(authorization, remote_addr=request.remote_addr)


@campaigns.post("/campaigns")
def create_campaign() -> Response:
    """Accept a campaign: 202 once every recipient is committed to the outbox."""
    _senders_only()
    key = request.headers.get("Idempotency-Key")
    request.max_content_length = current_services().settings.campaign_max_upload_bytes
    if request.mimetype in JSON_LINES:
        answer = _send().campaigns.create(lines_of(blocks(request.stream)), key)
    elif request.mimetype == MULTIPART and request.mimetype_params.get("boundary"):
        parts = read_parts(request.stream, request.mimetype_params["boundary"])
        answer = _send().campaigns.create_from(parts.message, parts.lines, parts.kind, key)
    else:
        raise InvalidRequestError(
            "the body must be JSON Lines, or multipart/form-data",
            {
                "": [
                    "send Content-Type: application/x-ndjson: the message, then a recipient"
                    " a line; or multipart/form-data: a 'message' part (JSON), then a"
                    " 'recipients' part (a CSV or JSON Lines file)"
                ]
            },
        )
    response = jsonify(answer.body)
    response.status_code = answer.status
    if answer.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@campaigns.get("/campaigns/<public_id>")
def show_campaign(public_id: str) -> Response:
    """A campaign: its state, pause reason, the upload's counts, its messages by state."""
    _senders_or_operators()
    return jsonify(_send().campaigns.show(public_id))


@campaigns.get("/campaigns/<public_id>/report")
def campaign_report(public_id: str) -> Response:
    """Each recipient's message, its send state and what its events said, as CSV (streamed)."""
    _senders_or_operators()
    chunks = _send().campaigns.report(public_id)
    return Response(
        csv_lines(REPORT_COLUMNS, chunks),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{public_id}.csv"'},
    )


@campaigns.post("/campaigns/<public_id>/pause")
def pause_campaign(public_id: str) -> Response:
    """Pause: nothing more of it is sent until it is resumed (``reason`` in a JSON body)."""
    _senders_only()
    body = request.get_json(silent=True) if request.content_length else None
    reason = body.get("reason") if isinstance(body, dict) else None
    if reason is not None and not isinstance(reason, str):
        raise InvalidRequestError("invalid reason", {"reason": ["a string"]})
    return jsonify(_send().campaigns.pause(public_id, reason))


@campaigns.post("/campaigns/<public_id>/resume")
def resume_campaign(public_id: str) -> Response:
    """Resume: each message not yet sent is sent once."""
    _senders_only()
    return jsonify(_send().campaigns.resume(public_id))


@campaigns.post("/campaigns/<public_id>/cancel")
def cancel_campaign(public_id: str) -> Response:
    """Cancel: its queued and scheduled messages end cancelled."""
    _senders_only()
    return jsonify(_send().campaigns.cancel(public_id))
