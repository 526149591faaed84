"""Log setup shared by every process: JSON lines off a terminal, text on one; no raw addresses.

Every record gets a ``request_id``: the one of the HTTP request being served, or the one an
``extra={"request_id": ...}`` names (the worker passes the id stored with each body).
E-mail addresses, URL tokens and configured secrets are masked in every record as it is made
(``observability.redaction``); extras such as Celery's are masked again by the JSON formatter.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any, TextIO

from pythonjsonlogger.json import JsonFormatter

from emailhook.domain.masking import mask_emails
from emailhook.domain.printable import escaped
from emailhook.observability.redaction import install_redaction
from emailhook.settings import Settings

_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s[%(process)d] %(request_id)s: %(message)s"
_JSON_FIELDS = ("levelname", "name", "process", "request_id", "message")
_JSON_RENAMES = {"levelname": "level", "name": "logger"}

_request_id: ContextVar[str | None] = ContextVar("emailhook_request_id", default=None)


def configure_logging(
    level: int | None = None, *, root: bool = False, settings: Settings | None = None
) -> None:
    """Send emailhook's records (every record with ``root``) to stderr, once per process.

    The worker passes ``root=True`` so that Celery's own lines come out in the same format;
    with ``settings``, their secrets are masked wherever they would appear in a record. The
    level is ``level``, else the settings' ``log_level``, else INFO.
    """
    if level is None:
        level = logging.getLevelNamesMapping()[settings.log_level] if settings else logging.INFO
    install_redaction(settings)
    target = logging.getLogger() if root else logging.getLogger("emailhook")
    ours = logging.getLogger("emailhook")
    ours.setLevel(level)
    if any(isinstance(h, _Handler) for h in target.handlers):
        return
    if root:
        for handler in [h for h in ours.handlers if isinstance(h, _Handler)]:
            ours.removeHandler(handler)
        ours.propagate = True
        target.setLevel(level)
    else:
        ours.propagate = False
    target.addHandler(stream_handler(sys.stderr))


def stream_handler(stream: TextIO) -> logging.Handler:
    """Return the handler configure_logging installs, writing to ``stream``."""
    return _Handler(stream)


def current_request_id() -> str | None:
    return _request_id.get()


def bind_request_id(request_id: str | None) -> Token[str | None]:
    """Tag every record logged from here on (in this context) with ``request_id``."""
    return _request_id.set(request_id)


def unbind_request_id(token: Token[str | None]) -> None:
    _request_id.reset(token)


@contextmanager
def request_id_bound(request_id: str | None) -> Iterator[None]:
    """Tag every record logged inside the block with ``request_id``."""
    token = bind_request_id(request_id)
    try:
        yield
    finally:
        unbind_request_id(token)


class _Handler(logging.StreamHandler[TextIO]):
    """stderr, as JSON lines unless it is a terminal; masks addresses; adds the request id."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self.setFormatter(_TextFormatter(_TEXT_FORMAT) if stream.isatty() else _json_formatter())
        self.addFilter(_enrich)


def _enrich(record: logging.LogRecord) -> bool:
    if getattr(record, "request_id", None) is None:
        record.request_id = _request_id.get() or "-"
    return True


class _TextFormatter(logging.Formatter):
    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        # On a terminal one record is one line: a control character in a message (a value
        # a sender chose) is shown escaped, never as a new line. A traceback keeps its lines.
        record.message = escaped(record.message)
        return super().formatMessage(record)

    def format(self, record: logging.LogRecord) -> str:
        # The whole line: message, arguments, traceback (which another handler may have
        # formatted and cached on the record already).
        return mask_emails(super().format(record))


class _JsonFormatter(JsonFormatter):
    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        # Every field, before serialization: message, traceback, extras such as Celery's.
        return {key: _masked(value) for key, value in log_data.items()}


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_emails(value)
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_masked(item) for item in value]
    return value


def _json_formatter() -> logging.Formatter:
    return _JsonFormatter(
        list(_JSON_FIELDS), rename_fields=_JSON_RENAMES, timestamp="time", json_ensure_ascii=False
    )
