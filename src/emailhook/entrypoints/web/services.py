"""Where a web app keeps its services and its operators, for the blueprints to read."""

from __future__ import annotations

from flask import current_app

from emailhook.composition.web import WebServices
from emailhook.entrypoints.web.operators import OperatorAuth

#: the key of ``app.extensions`` that holds the app's WebServices
EXTENSION = "emailhook"
#: the key of ``app.extensions`` that holds who may read the data
OPERATORS = "emailhook.operators"


def current_services() -> WebServices:
    """Return the services of the app handling the current request."""
    services: WebServices = current_app.extensions[EXTENSION]
    return services


def current_operators() -> OperatorAuth:
    """Return who may read the data of the app handling the current request."""
    operators: OperatorAuth = current_app.extensions[OPERATORS]
    return operators
