"""The Flask application factory."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from emailhook.adapters.intake.group_commit import GroupCommitWriter
from emailhook.adapters.intake.spool import SpoolWriter
from emailhook.adapters.intake.spool_promoter import SpoolPromoter
from emailhook.composition import open_database, open_read_only_database
from emailhook.entrypoints.web import errors, ops, request_ids
from emailhook.entrypoints.web.api import api
from emailhook.entrypoints.web.dashboard import dashboard
from emailhook.entrypoints.web.webhook import webhook
from emailhook.observability.logs import configure_logging
from emailhook.observability.metrics import configure_metrics
from emailhook.service.auth import announce, require_authentication
from emailhook.service.intake import BodyWriter, Intake
from emailhook.service.operators import OperatorAuth
from emailhook.settings import Settings


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON with instants in ISO 8601 rather than HTTP dates, keys in field order."""

    sort_keys = False

    @staticmethod
    def default(o: Any) -> Any:
        if isinstance(o, datetime):
            return o.isoformat()
        return DefaultJSONProvider.default(o)


def create_app(settings: Settings | None = None) -> Flask:
    """Return the web app: ``POST /email``, the query API, the dashboard and friends.

    Raises ConfigurationError in production when no webhook authentication is configured.
    """
    settings = settings or Settings()
    configure_logging(settings=settings)
    auth = require_authentication(settings)
    announce(auth)
    configure_metrics(settings)
    app = Flask("emailhook")
    app.json = JSONProvider(app)
    # Checked against Content-Length before reading, and while reading a chunked body.
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    database = open_database(
        settings,
        lock_timeout_seconds=settings.web_lock_timeout_seconds,
        statement_timeout_seconds=settings.web_lock_timeout_seconds,
    )
    app.extensions["emailhook.settings"] = settings
    app.extensions["emailhook.database"] = database
    app.extensions["emailhook.auth"] = auth
    app.extensions["emailhook.operators"] = OperatorAuth.from_settings(settings)
    writer: BodyWriter
    if settings.intake == "spool":
        promoter = SpoolPromoter(database.engine, settings.resolved_spool_dir)
        writer = promoter.writer = SpoolWriter(
            settings.resolved_spool_dir,
            segment_bytes=settings.spool_segment_bytes,
            on_new_segment=promoter.ensure_running,
        )
        app.extensions["emailhook.spool"] = promoter
    else:
        writer = GroupCommitWriter(database.engine)
    app.extensions["emailhook.intake"] = Intake(
        writer,
        timeout=settings.web_lock_timeout_seconds,
        max_json_depth=settings.max_json_depth,
    )
    app.extensions["emailhook.queries"] = open_read_only_database(settings)
    request_ids.init_app(app)
    errors.init_app(app)
    app.register_blueprint(webhook)
    app.register_blueprint(api)
    app.register_blueprint(dashboard)
    ops.init_app(app)
    return app
