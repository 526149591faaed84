"""The one place where errors become HTTP answers: always JSON, never a 5xx for bad input."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from emailhook.entrypoints.web.operators import REALM
from emailhook.observability.metrics import RejectReason, record_rejected
from emailhook.providers.base import AuthenticationError, ForbiddenSourceError
from emailhook.service.errors import (
    BodyNotFoundError,
    FeatureDisabledError,
    ForbiddenError,
    InvalidBodyError,
    InvalidQueryError,
    OperatorUnauthorizedError,
    StorageUnavailableError,
    UnauthorizedError,
    UpstreamUnavailableError,
)

log = logging.getLogger("emailhook.http")

#: seconds a sender is asked to wait after a 503
RETRY_AFTER_SECONDS = 5


def init_app(app: Flask) -> None:
    app.register_error_handler(InvalidBodyError, _invalid_body)
    app.register_error_handler(UnauthorizedError, _unauthorized)
    app.register_error_handler(OperatorUnauthorizedError, _operator_unauthorized)
    app.register_error_handler(ForbiddenError, _forbidden)
    app.register_error_handler(AuthenticationError, _provider_unauthenticated)
    app.register_error_handler(ForbiddenSourceError, _forbidden_source)
    app.register_error_handler(FeatureDisabledError, _disabled)
    app.register_error_handler(BodyNotFoundError, _body_not_found)
    app.register_error_handler(InvalidQueryError, _invalid_query)
    app.register_error_handler(StorageUnavailableError, _storage_unavailable)
    app.register_error_handler(UpstreamUnavailableError, _upstream_unavailable)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)


def _error(status: int, code: str, message: str) -> tuple[Response, int]:
    return jsonify(error=code, message=message), status


def _invalid_body(error: InvalidBodyError) -> tuple[Response, int]:
    record_rejected(RejectReason.INVALID_BODY)
    return _error(400, "invalid_body", str(error))


def _unauthorized(error: UnauthorizedError) -> tuple[Response, int]:
    # The same words for a missing, wrong or retired secret of any method: nothing to guess by.
    record_rejected(RejectReason.UNAUTHORIZED)
    response, status = _error(401, "unauthorized", "authentication required")
    if error.challenge_basic:
        response.headers["WWW-Authenticate"] = 'Basic realm="emailhook"'
    return response, status


def _operator_unauthorized(error: OperatorUnauthorizedError) -> tuple[Response, int]:
    # The browser asks for user and password on this challenge; not a webhook rejection.
    response, status = _error(401, "unauthorized", "operator credentials required")
    response.headers["WWW-Authenticate"] = f'Basic realm="{REALM}", charset="UTF-8"'
    return response, status


def _provider_unauthenticated(error: AuthenticationError) -> tuple[Response, int]:
    # The reason is for the log; the sender gets the same words whatever failed.
    record_rejected(RejectReason.UNAUTHORIZED)
    log.info("provider request refused (401): %s", error.reason)
    response, status = _error(401, "unauthorized", "authentication required")
    if error.challenge:
        response.headers["WWW-Authenticate"] = error.challenge
    return response, status


def _forbidden_source(error: ForbiddenSourceError) -> tuple[Response, int]:
    record_rejected(RejectReason.UNAUTHORIZED)
    log.warning("provider request refused (403): %s", error)
    return _error(403, "forbidden", "this source is not allowed")


def _forbidden(error: ForbiddenError) -> tuple[Response, int]:
    return _error(403, "forbidden", str(error))


def _disabled(error: FeatureDisabledError) -> tuple[Response, int]:
    return _error(404, "not_found", str(error))


def _body_not_found(error: BodyNotFoundError) -> tuple[Response, int]:
    return _error(404, "not_found", str(error))


def _invalid_query(error: InvalidQueryError) -> tuple[Response, int]:
    return _error(400, "invalid_query", str(error))


def _storage_unavailable(error: StorageUnavailableError) -> tuple[Response, int]:
    record_rejected(RejectReason.UNAVAILABLE)
    response, status = _error(503, "unavailable", str(error))
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response, status


def _upstream_unavailable(error: UpstreamUnavailableError) -> tuple[Response, int]:
    response, status = _error(503, "unavailable", str(error))
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response, status


def _http_error(error: HTTPException) -> tuple[Response, int]:
    if isinstance(error, RequestEntityTooLarge):  # only POST /email reads a body
        record_rejected(RejectReason.TOO_LARGE)
    code = (error.name or "error").lower().replace(" ", "_")
    status = error.code or 500
    response, _ = _error(status, code, error.description or "")
    if status == 405 and error.get_response().headers.get("Allow"):
        response.headers["Allow"] = error.get_response().headers["Allow"]
    return response, status


def _unexpected(error: Exception) -> tuple[Response, int]:
    log.exception("unexpected error")
    return _error(500, "internal_error", "internal error; the body was not accepted")
