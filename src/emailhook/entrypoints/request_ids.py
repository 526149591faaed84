"""Request ids: taken from ``X-Request-Id`` or made up, logged, stored, and sent back."""

from __future__ import annotations

import re
import uuid
from contextvars import Token

from flask import Flask, Response, g, request

from emailhook.logs import bind_request_id, current_request_id, unbind_request_id

HEADER = "X-Request-Id"
#: what a caller's id may look like: it goes into log lines and inbox_body.request_id (64)
_USABLE = re.compile(r"[A-Za-z0-9._:/+=-]{1,64}")


def init_app(app: Flask) -> None:
    app.before_request(_bind)
    app.after_request(_send_back)
    app.teardown_request(_unbind)


def _bind() -> None:
    sent = request.headers.get(HEADER, "")
    request_id = sent if _USABLE.fullmatch(sent) else uuid.uuid4().hex
    g.request_id_token = bind_request_id(request_id)


def _send_back(response: Response) -> Response:
    request_id = current_request_id()
    if request_id:
        response.headers[HEADER] = request_id
    return response


def _unbind(_error: BaseException | None) -> None:
    token: Token[str | None] | None = g.pop("request_id_token", None)
    if token is not None:
        unbind_request_id(token)
