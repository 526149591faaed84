"""Receiving a webhook over HTTP: one implementation, whichever server calls it.

``POST /email`` (Infobip's ``/webhooks/infobip``) and ``POST /webhooks/<provider>`` take the
same steps wherever they are served: ``arrived`` counts the request, the body is read (at most the
limit), ``admit`` authenticates and validates it, the intake keeps it (``Intake.keep`` for a
thread, ``Intake.keep_async`` for a coroutine), and ``answer`` says so. Flask's routes
(webhook.py, providers.py) call them under ``flask --app emailhook run`` and in tests; the
webhook front (front.py) calls them from its event loop under ``emailhook serve``. Each reads
the request into a :class:`Posted` the way Werkzeug reads it, and every error is answered by
errors.py, so that an answer is the same byte for byte whichever served it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import orjson
from prometheus_client import Counter
from werkzeug.exceptions import RequestEntityTooLarge

from emailhook.composition.web import WebServices
from emailhook.domain.events import Shape
from emailhook.observability.metrics import metrics
from emailhook.providers.base import WebhookRequest
from emailhook.providers.registry import BY_NAME, EMAIL_PROVIDER
from emailhook.service.receive.intake import Admission, Receipt
from emailhook.service.receive.webhooks import Answered


@dataclass(frozen=True, slots=True)
class Target:
    """What a webhook path names: a provider, and a secret segment of its URL (``url_token``)."""

    provider: str
    token: str | None = None


def target_of(path: str) -> Target | None:
    """Return the webhook ``path`` (decoded) names, as Flask's routes match it; None for any
    other path, which is not a webhook's. ``/email`` is the path of ``EMAIL_PROVIDER``."""
    if path == "/email":
        return Target(EMAIL_PROVIDER)
    head, _, rest = path[1:].partition("/")
    if head == "email":
        return Target(EMAIL_PROVIDER, rest) if rest and "/" not in rest else None
    if head != "webhooks" or not rest:
        return None
    name, slash, token = rest.partition("/")
    if not slash:
        return Target(name)
    provider = BY_NAME.get(name)
    if provider is not None and provider.url_token and token and "/" not in token:
        return Target(name, token)
    return None


@dataclass(frozen=True, slots=True)
class Posted:
    """A webhook POST as received, read as Werkzeug (so Flask) reads it whoever served it:
    header names as WSGI spells them (``X-Webhook-Secret``; ``_`` read as ``-``), a repeated
    header's values joined by commas, the query's first ``token``."""

    body: bytes
    headers: Mapping[str, str]
    query_token: str | None
    remote_addr: str | None
    #: the URL as called (scheme, host, path, query), for a provider that reads it (Mandrill
    #: signs it): empty for the others
    url: str = ""
    method: str = "POST"


@cache
def _counters() -> tuple[Counter, dict[str, Counter]]:
    """This process's received counter, and its accepted counters by shape (one lookup)."""
    current = metrics()
    return current.received, {shape.value: current.accepted.labels(shape.value) for shape in Shape}


def arrived() -> None:
    """Count a webhook request, before anything is read (a 413 is counted too)."""
    _counters()[0].inc()


def refuse_announced_excess(length: int | None, limit: int) -> None:
    """Raise 413 when a request announces a body longer than ``limit``: nothing is read."""
    if length is not None and length > limit:
        raise RequestEntityTooLarge()


def admit(
    services: WebServices, target: Target, posted: Posted, request_id: str | None
) -> Admission | Answered:
    """Authenticate and validate a webhook body: ready to be kept, or a provider's control
    message answered. Raises the service errors errors.py answers (401, 403, 404, 400, 503)."""
    request = WebhookRequest(
        body=posted.body,
        headers={name.lower(): value for name, value in posted.headers.items()},
        content_type=posted.headers.get("Content-Type", ""),
        url=posted.url,
        method=posted.method,
        remote_addr=posted.remote_addr,
        path_token=target.token,
        query_token=posted.query_token,
    )
    return services.providers.admit(target.provider, request, request_id=request_id)


def answer(target: Target, outcome: Receipt | Answered) -> bytes:
    """Return the JSON of a 200: the body kept (its receipt) or a control message answered."""
    if isinstance(outcome, Answered):
        return orjson.dumps({"accepted": True, "events": 0, "control": outcome.description})
    _counters()[1][outcome.shape.value].inc()
    said: dict[str, object] = {"accepted": True, "request_id": outcome.request_id}
    if outcome.shape is Shape.PROVIDER:
        said["provider"] = target.provider
    else:  # Infobip's bodies say their shape, as ``POST /email`` always answered
        said["shape"] = outcome.shape
    said["events"] = outcome.events
    if outcome.body_id is not None:  # a spooled body gets its inbox id when it is moved there
        said["id"] = outcome.body_id
    return orjson.dumps(said)
