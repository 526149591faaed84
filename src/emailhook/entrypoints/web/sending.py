"""The send API over HTTP: ``POST /messages``, ``GET /messages[/<id>]``,
``DELETE /messages/<id>``, and the one-click unsubscribe links (``/unsubscribe/<token>``).

Translation only: the services (``service.send``) decide; errors become answers in
``errors.py``.
"""

from __future__ import annotations

from html import escape

import orjson
from flask import Blueprint, Response, jsonify, request

from emailhook.composition.send import SendWeb
from emailhook.entrypoints.web import params
from emailhook.entrypoints.web.services import current_operators, current_services
from emailhook.observability.metrics import record_accepted_messages
from emailhook.service.errors import InvalidRequestError

sending = Blueprint("sending", __name__)

DEFAULT_LIMIT, MAX_LIMIT = 100, 1000
#: no page of ours is framed, cached or sends a referrer (the token is in the URL)
_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
}


def _send() -> SendWeb:
    return current_services().send


def _authorization() -> str | None:
    return request.headers.get("Authorization")


def _senders_only() -> None:
    _send().keys.require(_authorization())


def _senders_or_operators() -> None:
    """Reads take a send key, or the operators' credentials (as the query API)."""
    if _send().keys.matches(_authorization()):
        return
    current_operators().verify(_authorization(), remote_addr=request.remote_addr)


@sending.post("/messages")
def send_messages() -> Response:
    """Accept up to 1,000 messages into the outbox: 202 once committed."""
    _senders_only()
    raw = request.get_data(cache=False)
    if not (request.mimetype or "").endswith("json"):
        raise InvalidRequestError(
            "the body must be JSON", {"": ["send Content-Type: application/json"]}
        )
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise InvalidRequestError("the body is not JSON", {"": [str(error)]}) from None
    answer = _send().api.accept(body, raw, request.headers.get("Idempotency-Key"))
    if not answer.replayed:
        record_accepted_messages(m["status"] for m in answer.body["messages"])
    response = jsonify(answer.body)
    response.status_code = answer.status
    if answer.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@sending.get("/messages/<public_id>")
def show_message(public_id: str) -> Response:
    """A message: its send state, attempts, and events in the vocabulary."""
    _senders_or_operators()
    return jsonify(_send().messages.get(public_id))


@sending.get("/messages")
def list_messages() -> Response:
    """Messages newest first, by batch, contact, state or address; a page at a time."""
    _senders_or_operators()
    where = params.message_filter(request.args, default_limit=DEFAULT_LIMIT, max_limit=MAX_LIMIT)
    return jsonify(_send().messages.page(where))


@sending.delete("/messages/<public_id>")
def cancel_message(public_id: str) -> Response:
    """Cancel a queued or scheduled message (409 once it is on its way or sent)."""
    _senders_only()
    return jsonify(_send().messages.cancel(public_id))


@sending.get("/unsubscribe/<token>")
def unsubscribe_page(token: str) -> Response:
    """The link's page: which address, and a button (a GET changes nothing: mail scanners
    follow links)."""
    _, email = _send().unsubscribe.recipient(token)
    return _page(
        "Unsubscribe",
        f"<p>Stop marketing e-mail to <b>{escape(email)}</b>?</p>"
        '<form method="post"><button type="submit">Unsubscribe</button></form>',
    )


@sending.post("/unsubscribe/<token>")
def unsubscribe(token: str) -> Response:
    """RFC 8058 one-click: no auth, no cookies, no redirect; any body; 200 every time."""
    done = _send().unsubscribe.unsubscribe(token)
    return _page("Unsubscribed", f"<p><b>{escape(done.email)}</b> is unsubscribed.</p>")


def _page(title: str, content: str) -> Response:
    html = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
        "<meta name='viewport' content='width=device-width'></head>"
        f"<body style='font-family:sans-serif;max-width:32em;margin:3em auto'>"
        f"<h1>{title}</h1>{content}</body></html>"
    )
    return Response(html, mimetype="text/html", headers=_PAGE_HEADERS)
