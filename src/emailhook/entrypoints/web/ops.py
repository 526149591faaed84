"""Operations endpoints: liveness, readiness, metrics, and the API's own documentation."""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib.resources import files

import orjson
from flask import Blueprint, Flask, Response, jsonify
from flask_swagger_ui import get_swaggerui_blueprint
from sqlalchemy.exc import SQLAlchemyError

from emailhook.adapters.broker.config import check_broker
from emailhook.adapters.db.engine import check_database
from emailhook.domain.masking import mask_emails
from emailhook.entrypoints.web.services import current_services
from emailhook.observability import metrics
from emailhook.service.errors import StorageUnavailableError

log = logging.getLogger("emailhook.ops")

ops = Blueprint("ops", __name__)

#: the OpenAPI document, shipped as package data beside this module
OPENAPI = orjson.loads(files("emailhook.entrypoints.web").joinpath("openapi.json").read_bytes())
_MAX_FAILURE_CHARS = 300


def init_app(app: Flask) -> None:
    app.register_blueprint(ops)
    docs = get_swaggerui_blueprint(
        "/docs", "/openapi.json", config={"app_name": "emailhook API"}, blueprint_name="docs"
    )
    app.register_blueprint(docs)


@ops.get("/healthz")
def healthz() -> Response:
    """Answer 200 while the process serves requests."""
    return jsonify(status="ok")


@ops.get("/readyz")
def readyz() -> tuple[Response, int]:
    """200 when database and broker are reachable; 503 saying which is not."""
    services = current_services()
    checks = {
        "database": _check(lambda: check_database(services.database.engine)),
        "broker": _check(lambda: check_broker(services.settings)),
    }
    ready = all(result == "ok" for result in checks.values())
    body = jsonify(status="ready" if ready else "unavailable", checks=checks)
    return body, 200 if ready else 503


@ops.get("/metrics")
def prometheus_metrics() -> Response:
    """Every process's metrics, and the inbox gauges, in Prometheus text format."""
    services = current_services()

    def inbox_counts() -> dict[str, int] | None:
        try:
            return services.operations.gauges()
        except (StorageUnavailableError, SQLAlchemyError, OSError) as error:
            log.warning("inbox gauges left out: %s", type(error).__name__)
            return None

    return Response(
        metrics.exposition(services.settings, inbox_counts),
        mimetype=None,
        content_type=metrics.CONTENT_TYPE_LATEST,
    )


@ops.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 document of every endpoint."""
    return jsonify(OPENAPI)


def _check(probe: Callable[[], None]) -> str:
    try:
        probe()
    except Exception as error:  # a health check reports any failure rather than raising it
        return mask_emails(f"failed: {type(error).__name__}: {error}")[:_MAX_FAILURE_CHARS]
    return "ok"
