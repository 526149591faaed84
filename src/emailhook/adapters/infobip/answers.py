"""What Infobip's API answered: its JSON, or an :class:`InfobipApiError` that says in a line
what went wrong (an HTML error page, a truncated body, Infobip's own error, no answer).

Infobip writes errors in two forms: ``{"requestError": {"serviceException": {"messageId",
"text"}}}`` and the newer ``{"errorCode": "E429", "description": ...}``
(``infobip-pull-and-channels.md``). Reasons are cut short and never quote a request: the API
key travels in a header and appears in no message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import orjson

#: statuses worth a retry: throttled, or the server's own failure
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
_REASON_CHARS = 200


class InfobipApiError(RuntimeError):
    """Infobip's API did not give what was asked: ``status`` (None without an answer) and a
    short ``reason`` fit for an operator's log."""

    def __init__(self, status: int | None, reason: str, *, endpoint: str = "") -> None:
        where = f"{endpoint}: " if endpoint else ""
        super().__init__(f"Infobip API {where}{status or 'no answer'}: {reason}")
        self.status = status
        self.reason = reason
        self.endpoint = endpoint


def decoded_answer(response: httpx.Response, path: str) -> object:
    """Return a success's decoded JSON (None when empty, as a 204); raise for anything else."""
    status = response.status_code
    if 200 <= status < 300 and not response.content:
        return None
    try:
        decoded: object = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        raise InfobipApiError(status, _undecodable(response), endpoint=path) from None
    if 200 <= status < 300:
        return decoded
    raise InfobipApiError(status, _error_reason(status, decoded), endpoint=path)


def _undecodable(response: httpx.Response) -> str:
    head = response.content[:200].lstrip().lower()
    kind = response.headers.get("content-type", "").split(";")[0].strip() or "no content type"
    if head.startswith(b"<") or "html" in kind:
        return f"answer is an HTML page, not JSON ({kind})"
    return f"answer is not valid JSON (truncated?): {len(response.content)} bytes, {kind}"


def _error_reason(status: int, body: object) -> str:
    mapping = _mapping(body)
    exception = _mapping(_mapping(mapping.get("requestError")).get("serviceException"))
    code = exception.get("messageId") or mapping.get("errorCode")
    text = exception.get("text") or mapping.get("description")
    said = ": ".join(str(part) for part in (code, text) if part) or "no reason given"
    if status in (401, 403):
        said = f"not authorized (check the API key and its scopes): {said}"
    return said[:_REASON_CHARS]


def transport_reason(error: httpx.TransportError) -> str:
    """Return a line saying why no answer came (``ReadTimeout: timed out``)."""
    # The exception's text names the host at most; the key is in a header, never in it.
    return f"{type(error).__name__}: {str(error)[:_REASON_CHARS] or 'no detail'}"


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
