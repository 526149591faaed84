"""The Flask app: ``create_app`` builds a web process's services from settings and assembles
the app from them (blueprints, error mapping, request ids); the webhook front (front.py) and
``flask --app emailhook`` reach it through ``build_app`` and ``emailhook.create_app``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from flask import Flask
from flask.json.provider import DefaultJSONProvider

from emailhook.composition import load_settings
from emailhook.composition.web import WebServices, web_services
from emailhook.entrypoints.web import errors, ops, request_ids
from emailhook.entrypoints.web.api import api
from emailhook.entrypoints.web.campaigns import campaigns
from emailhook.entrypoints.web.dashboard import dashboard
from emailhook.entrypoints.web.dashboard_messages import dashboard_messages
from emailhook.entrypoints.web.dashboard_sends import dashboard_sends
from emailhook.entrypoints.web.operators import OperatorAuth
from emailhook.entrypoints.web.providers import providers
from emailhook.entrypoints.web.sending import sending
from emailhook.entrypoints.web.services import EXTENSION, OPERATORS
from emailhook.entrypoints.web.webhook import webhook
from emailhook.observability import configure
from emailhook.service.receive.auth import announce
from emailhook.settings import Settings


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON written by orjson: instants in ISO 8601 rather than HTTP dates, keys in
    field order, dataclasses and enums in C. Flask's own encoder copied each row of a page
    with ``dataclasses.asdict`` (about 1 ms a row: 75 % of a keyed lookup at 10 million
    events, docs/growth.md)."""

    sort_keys = False

    @staticmethod
    def default(o: Any) -> Any:
        if isinstance(o, datetime):
            return o.isoformat()
        return DefaultJSONProvider.default(o)

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        try:  # Flask's json.dumps options do not apply: orjson's output is always compact
            return orjson.dumps(obj, default=self.default, option=orjson.OPT_NON_STR_KEYS).decode()
        except TypeError:  # an integer beyond 64 bits (a sender's callbackData may hold one)
            return super().dumps(obj, **kwargs)


def create_app(settings: Settings | None = None) -> Flask:
    """Return the web app for ``settings`` (default: this process's environment), this
    process's observability configured first."""
    settings = settings or load_settings()
    configure(settings)
    return build_app(web_services(settings))


def build_app(services: WebServices) -> Flask:
    """Return the web app: ``POST /email``, the query API, the dashboard and friends."""
    announce(services.auth)
    app = Flask("emailhook", root_path=str(Path(__file__).parent))  # templates/, static/
    app.json = JSONProvider(app)
    # Checked against Content-Length before reading, and while reading a chunked body.
    app.config["MAX_CONTENT_LENGTH"] = services.settings.max_body_bytes
    app.extensions[EXTENSION] = services
    app.extensions[OPERATORS] = OperatorAuth.from_settings(services.settings)
    request_ids.init_app(app)
    errors.init_app(app)
    app.register_blueprint(webhook)
    app.register_blueprint(providers)
    app.register_blueprint(api)
    app.register_blueprint(dashboard)
    app.register_blueprint(dashboard_messages)
    app.register_blueprint(dashboard_sends)
    app.register_blueprint(sending)
    app.register_blueprint(campaigns)
    ops.init_app(app)
    return app
