"""Where a web app keeps its services, for the blueprints to read in a request."""

from __future__ import annotations

from flask import current_app

from emailhook.composition import WebServices

#: the key of ``app.extensions`` that holds the app's WebServices
EXTENSION = "emailhook"


def current_services() -> WebServices:
    """Return the services of the app handling the current request."""
    services: WebServices = current_app.extensions[EXTENSION]
    return services
