"""The one place where errors become HTTP answers: always JSON, never a 5xx for bad input.

Each error becomes an :class:`ErrorAnswer` (status, JSON body, headers) here, whoever serves
the request: Flask's error handlers send it, and so does the webhook front (``front.py``), so
that a refusal reads the same byte for byte whichever of them answered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from flask import Flask, Response
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from emailhook.entrypoints.web.operators import REALM
from emailhook.observability.metrics import RejectReason, record_rejected
from emailhook.providers.base import AuthenticationError, ForbiddenSourceError
from emailhook.service.errors import (
    BodyNotFoundError,
    ConflictError,
    FeatureDisabledError,
    ForbiddenError,
    IdempotencyMismatchError,
    InvalidBodyError,
    InvalidQueryError,
    InvalidRequestError,
    NotFoundError,
    OperatorUnauthorizedError,
    SendUnauthorizedError,
    StorageUnavailableError,
    UnauthorizedError,
    UpstreamUnavailableError,
)

log = logging.getLogger("emailhook.http")

#: seconds a sender is asked to wait after a 503
RETRY_AFTER_SECONDS = 5


@dataclass(frozen=True, slots=True)
class ErrorAnswer:
    """An error as the client gets it: ``{"error": code, "message": message}`` and headers."""

    status: int
    code: str
    message: str
    headers: tuple[tuple[str, str], ...] = ()
    #: each field's problems, for a refused send request
    errors: dict[str, list[str]] | None = None

    @property
    def body(self) -> bytes:
        # What Flask's jsonify writes with the app's JSON provider (orjson), newline included
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.errors is not None:
            body["errors"] = self.errors
        return orjson.dumps(body) + b"\n"


E = TypeVar("E", bound=Exception)
_ANSWERS: dict[type[Exception], Callable[[Any], ErrorAnswer]] = {}


def _answers(kind: type[E]) -> Callable[[Callable[[E], ErrorAnswer]], Callable[[E], ErrorAnswer]]:
    def register(answer: Callable[[E], ErrorAnswer]) -> Callable[[E], ErrorAnswer]:
        _ANSWERS[kind] = answer
        return answer

    return register


def error_answer(error: Exception) -> ErrorAnswer:
    """Return the answer to ``error``: that of its most specific class with one, as Flask
    picks a handler (call it inside the ``except`` block: an unexpected error logs its
    traceback)."""
    for kind in type(error).__mro__:
        answer = _ANSWERS.get(kind)
        if answer is not None:
            return answer(error)
    raise TypeError(f"not an exception: {error!r}")  # unreachable: Exception has an answer


def init_app(app: Flask) -> None:
    for kind, answer in _ANSWERS.items():
        app.register_error_handler(kind, lambda error, answer=answer: flask_response(answer(error)))


def flask_response(answer: ErrorAnswer) -> Response:
    return Response(
        answer.body, status=answer.status, headers=list(answer.headers), mimetype="application/json"
    )


@_answers(InvalidBodyError)
def _invalid_body(error: InvalidBodyError) -> ErrorAnswer:
    record_rejected(RejectReason.INVALID_BODY)
    return ErrorAnswer(400, "invalid_body", str(error))


@_answers(UnauthorizedError)
def _unauthorized(error: UnauthorizedError) -> ErrorAnswer:
    # The same words for a missing, wrong or retired secret of any method: nothing to guess by.
    record_rejected(RejectReason.UNAUTHORIZED)
    challenge = (("WWW-Authenticate", 'Basic realm="emailhook"'),) if error.challenge_basic else ()
    return ErrorAnswer(401, "unauthorized", "authentication required", challenge)


@_answers(OperatorUnauthorizedError)
def _operator_unauthorized(error: OperatorUnauthorizedError) -> ErrorAnswer:
    # The browser asks for user and password on this challenge; not a webhook rejection.
    challenge = ("WWW-Authenticate", f'Basic realm="{REALM}", charset="UTF-8"')
    return ErrorAnswer(401, "unauthorized", "operator credentials required", (challenge,))


@_answers(AuthenticationError)
def _provider_unauthenticated(error: AuthenticationError) -> ErrorAnswer:
    # The reason is for the log; the sender gets the same words whatever failed.
    record_rejected(RejectReason.UNAUTHORIZED)
    log.info("provider request refused (401): %s", error.reason)
    challenge = (("WWW-Authenticate", error.challenge),) if error.challenge else ()
    return ErrorAnswer(401, "unauthorized", "authentication required", challenge)


@_answers(ForbiddenSourceError)
def _forbidden_source(error: ForbiddenSourceError) -> ErrorAnswer:
    record_rejected(RejectReason.UNAUTHORIZED)
    log.warning("provider request refused (403): %s", error)
    return ErrorAnswer(403, "forbidden", "this source is not allowed")


@_answers(ForbiddenError)
def _forbidden(error: ForbiddenError) -> ErrorAnswer:
    return ErrorAnswer(403, "forbidden", str(error))


@_answers(FeatureDisabledError)
def _disabled(error: FeatureDisabledError) -> ErrorAnswer:
    return ErrorAnswer(404, "not_found", str(error))


@_answers(BodyNotFoundError)
def _body_not_found(error: BodyNotFoundError) -> ErrorAnswer:
    return ErrorAnswer(404, "not_found", str(error))


@_answers(InvalidQueryError)
def _invalid_query(error: InvalidQueryError) -> ErrorAnswer:
    return ErrorAnswer(400, "invalid_query", str(error))


@_answers(InvalidRequestError)
def _invalid_request(error: InvalidRequestError) -> ErrorAnswer:
    return ErrorAnswer(400, "invalid_request", str(error), errors=error.errors)


@_answers(SendUnauthorizedError)
def _send_unauthorized(error: SendUnauthorizedError) -> ErrorAnswer:
    challenge = (("WWW-Authenticate", 'Bearer realm="emailhook"'),)
    return ErrorAnswer(401, "unauthorized", "a send API key is required", challenge)


@_answers(NotFoundError)
def _not_found(error: NotFoundError) -> ErrorAnswer:
    return ErrorAnswer(404, "not_found", str(error))


@_answers(ConflictError)
def _conflict(error: ConflictError) -> ErrorAnswer:
    return ErrorAnswer(409, "conflict", str(error))


@_answers(IdempotencyMismatchError)
def _idempotency_mismatch(error: IdempotencyMismatchError) -> ErrorAnswer:
    return ErrorAnswer(422, "idempotency_key_reused", str(error))


_RETRY_LATER = (("Retry-After", str(RETRY_AFTER_SECONDS)),)


@_answers(StorageUnavailableError)
def _storage_unavailable(error: StorageUnavailableError) -> ErrorAnswer:
    record_rejected(RejectReason.UNAVAILABLE)
    return ErrorAnswer(503, "unavailable", str(error), _RETRY_LATER)


@_answers(UpstreamUnavailableError)
def _upstream_unavailable(error: UpstreamUnavailableError) -> ErrorAnswer:
    return ErrorAnswer(503, "unavailable", str(error), _RETRY_LATER)


@_answers(HTTPException)
def _http_error(error: HTTPException) -> ErrorAnswer:
    if isinstance(error, RequestEntityTooLarge):  # only the webhooks read a body
        record_rejected(RejectReason.TOO_LARGE)
    code = (error.name or "error").lower().replace(" ", "_")
    allow = error.get_response().headers.get("Allow") if error.code == 405 else None
    headers = (("Allow", allow),) if allow else ()
    return ErrorAnswer(error.code or 500, code, error.description or "", headers)


@_answers(Exception)
def _unexpected(error: Exception) -> ErrorAnswer:
    log.exception("unexpected error")
    return ErrorAnswer(500, "internal_error", "internal error; the body was not accepted")
