"""Operations endpoints: liveness, readiness, metrics, and the API's own documentation."""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib.resources import files

import orjson
from flask import Blueprint, Flask, Response, current_app, jsonify
from flask_swagger_ui import get_swaggerui_blueprint
from sqlalchemy.exc import SQLAlchemyError

from emailhook.adapters import health
from emailhook.adapters.intake import inbox
from emailhook.adapters.intake.spool_promoter import spool_backlog
from emailhook.composition import Database
from emailhook.domain.inbox import BodyState
from emailhook.domain.masking import mask_emails
from emailhook.observability import metrics
from emailhook.settings import Settings

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
    settings: Settings = current_app.extensions["emailhook.settings"]
    database: Database = current_app.extensions["emailhook.database"]
    checks = {
        "database": _check(lambda: health.check_database(database.engine)),
        "broker": _check(lambda: health.check_broker(settings)),
    }
    ready = all(result == "ok" for result in checks.values())
    body = jsonify(status="ready" if ready else "unavailable", checks=checks)
    return body, 200 if ready else 503


@ops.get("/metrics")
def prometheus_metrics() -> Response:
    """Every process's metrics, and the inbox gauges, in Prometheus text format."""
    settings: Settings = current_app.extensions["emailhook.settings"]
    sessions = current_app.extensions["emailhook.queries"].sessions
    engine = current_app.extensions["emailhook.queries"].engine

    def inbox_counts() -> dict[str, int] | None:
        try:
            with sessions.begin() as session:
                counts = inbox.count_states(session, [BodyState.PENDING, BodyState.DEAD])
            files, unmoved = spool_backlog(engine, settings.resolved_spool_dir)
            return {**counts, "spool_files": files, "spool_unmoved_bytes": unmoved}
        except (SQLAlchemyError, OSError) as error:
            log.warning("inbox gauges left out: %s", type(error).__name__)
            return None

    return Response(
        metrics.exposition(settings, inbox_counts),
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
