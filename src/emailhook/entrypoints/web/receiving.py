"""Receiving a webhook over HTTP: one implementation, whichever server calls it.

``POST /email`` (``/webhooks/infobip``) and ``POST /webhooks/<provider>`` take the same steps
wherever they are served: ``arrived`` counts the request, the body is read (at most the
limit), ``admit`` authenticates and validates it, the intake keeps it (``Intake.keep`` for a
thread, ``Intake.keep_async`` for a coroutine), and ``answer`` says so. Flask's routes
(webhook.py, providers.py) call them under ``flask --app emailhook run`` and in tests; the
webhook front (front.py) calls them from its event loop under ``emailhook serve``. A request
is werkzeug's sans-I/O request (Flask's is one), so its query string, headers and URL read the
same either way, and every error is answered by errors.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.sansio.request import Request

from emailhook.composition import WebServices
from emailhook.observability.metrics import metrics
from emailhook.providers.base import WebhookRequest
from emailhook.service.auth import Credentials
from emailhook.service.intake import Admission, Receipt
from emailhook.service.webhooks import Answered

#: the providers' paths of Infobip, whose body takes ``POST /email``'s way
INFOBIP = "infobip"


@dataclass(frozen=True, slots=True)
class Target:
    """What a webhook path names: a provider (None: Infobip's ``POST /email``), a URL token."""

    provider: str | None
    token: str | None = None


def target_of(path: str) -> Target | None:
    """Return the webhook ``path`` (decoded) names, as Flask's routes match it; None for any
    other path, which is not a webhook's."""
    if path == "/email":
        return Target(None)
    head, _, rest = path[1:].partition("/")
    if head == "email":
        return Target(None, rest) if rest and "/" not in rest else None
    if head != "webhooks" or not rest:
        return None
    name, slash, token = rest.partition("/")
    if name == INFOBIP:
        if not slash:
            return Target(None)
        return Target(None, token) if token and "/" not in token else None
    return Target(name) if not slash else None


def arrived() -> None:
    """Count a webhook request, before anything is read (a 413 is counted too)."""
    metrics().received.inc()


def refuse_announced_excess(request: Request, limit: int) -> None:
    """Raise 413 when ``request`` announces a body longer than ``limit``: nothing is read."""
    length = request.content_length
    if length is not None and length > limit:
        raise RequestEntityTooLarge()


def admit(
    services: WebServices, target: Target, request: Request, body: bytes, request_id: str | None
) -> Admission | Answered:
    """Authenticate and validate a webhook body: ready to be kept, or a provider's control
    message answered. Raises the service errors errors.py answers (401, 403, 404, 400, 503)."""
    if target.provider is None:
        offered = Credentials(
            path_token=target.token,
            query_token=request.args.get("token"),
            headers=dict(request.headers.items()),
            body=body,
        )
        services.auth.verify(offered, remote_addr=request.remote_addr)
        return services.intake.admit(body, request_id=request_id)
    posted = WebhookRequest(
        body=body,
        headers={name.lower(): value for name, value in request.headers.items()},
        content_type=request.headers.get("Content-Type", ""),
        url=request.url,
        method=request.method,
        remote_addr=request.remote_addr,
    )
    return services.providers.admit(target.provider, posted, request_id=request_id)


def answer(target: Target, outcome: Receipt | Answered) -> bytes:
    """Return the JSON of a 200: the body kept (its receipt) or a control message answered."""
    if isinstance(outcome, Answered):
        return orjson.dumps({"accepted": True, "events": 0, "control": outcome.description})
    metrics().accepted.labels(outcome.shape.value).inc()
    said: dict[str, object] = {"accepted": True, "request_id": outcome.request_id}
    if target.provider is None:
        said["shape"] = outcome.shape
    else:
        said["provider"] = target.provider
    said["events"] = outcome.events
    if outcome.body_id is not None:  # a spooled body gets its inbox id when it is moved there
        said["id"] = outcome.body_id
    return orjson.dumps(said)
