"""Request ids: taken from ``X-Request-Id`` or made up, logged, stored, and sent back.

A WSGI middleware rather than Flask hooks: three hooks a request cost more than the rest of
the id handling (measured: ~80,000 of ~740,000 instructions per ``POST /email``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from flask import Flask

from emailhook.observability.logs import bind_request_id, unbind_request_id

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

HEADER = "X-Request-Id"
_ENVIRON_KEY = "HTTP_X_REQUEST_ID"
#: what a caller's id may look like: it goes into log lines and inbox_body.request_id (64)
_USABLE = re.compile(r"[A-Za-z0-9._:/+=-]{1,64}")


def init_app(app: Flask) -> None:
    app.wsgi_app = RequestIds(app.wsgi_app)  # type: ignore[method-assign]


def request_id_of(sent: str) -> str:
    """Return the id a request goes by: the caller's ``X-Request-Id`` if usable, else a new one."""
    return sent if _USABLE.fullmatch(sent) else os.urandom(16).hex()


class RequestIds:
    """Binds each request's id for its log lines and sends it back in ``X-Request-Id``."""

    def __init__(self, app: WSGIApplication) -> None:
        self._app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request_id = request_id_of(environ.get(_ENVIRON_KEY, ""))

        def start(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            headers.append((HEADER, request_id))
            return start_response(status, headers, *exc_info)

        token = bind_request_id(request_id)
        try:
            return self._app(environ, start)
        finally:
            unbind_request_id(token)
