"""The Flask application factory."""

from __future__ import annotations

from flask import Flask

from emailhook.adapters.group_commit import GroupCommitWriter
from emailhook.bootstrap import open_database
from emailhook.entrypoints import errors
from emailhook.entrypoints.http import webhook
from emailhook.logs import configure_logging
from emailhook.service.intake import Intake
from emailhook.settings import Settings


def create_app(settings: Settings | None = None) -> Flask:
    """Return the web app: ``POST /email`` and friends, on the configured database."""
    settings = settings or Settings()
    configure_logging()
    app = Flask("emailhook")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    database = open_database(
        settings,
        lock_timeout_seconds=settings.web_lock_timeout_seconds,
        statement_timeout_seconds=settings.web_lock_timeout_seconds,
    )
    app.extensions["emailhook.settings"] = settings
    app.extensions["emailhook.database"] = database
    writer = GroupCommitWriter(database.engine)
    app.extensions["emailhook.intake"] = Intake(writer, timeout=settings.web_lock_timeout_seconds)
    errors.init_app(app)
    app.register_blueprint(webhook)
    return app
