"""The Flask application factory."""

from __future__ import annotations

from flask import Flask

from emailhook.adapters.group_commit import GroupCommitWriter
from emailhook.bootstrap import open_database
from emailhook.entrypoints import errors
from emailhook.entrypoints.http import webhook
from emailhook.logs import configure_logging
from emailhook.service.auth import announce, require_authentication
from emailhook.service.intake import Intake
from emailhook.settings import Settings


def create_app(settings: Settings | None = None) -> Flask:
    """Return the web app: ``POST /email`` and friends, on the configured database.

    Raises ConfigurationError in production when no webhook authentication is configured.
    """
    settings = settings or Settings()
    configure_logging(settings=settings)
    auth = require_authentication(settings)
    announce(auth)
    app = Flask("emailhook")
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
    writer = GroupCommitWriter(database.engine)
    app.extensions["emailhook.intake"] = Intake(
        writer,
        timeout=settings.web_lock_timeout_seconds,
        max_json_depth=settings.max_json_depth,
    )
    errors.init_app(app)
    app.register_blueprint(webhook)
    return app
