"""What every dashboard page shares: a blueprint that answers operators only, with headers
that forbid framing and scripts, its query parameters, and rendering with the open banner."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template, request
from sqlalchemy.orm import Session, sessionmaker

from emailhook.entrypoints.web.access import operators_only
from emailhook.entrypoints.web.services import current_operators, current_services

#: no script runs on these pages; the chart's SVG (``charts``) styles itself with attributes
CSP = (
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def pages_blueprint(name: str, import_name: str) -> Blueprint:
    """Return a blueprint of dashboard pages: operators only, never framed or cached."""
    blueprint = Blueprint(name, import_name)
    blueprint.before_request(operators_only)
    blueprint.after_request(_no_framing)
    return blueprint


def _no_framing(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "no-store"
    return response


def reader() -> sessionmaker[Session]:
    """Return the read-only sessions the pages query."""
    return current_services().reads.sessions


def query_args() -> dict[str, str]:
    """Return the query parameters, an empty form field counting as absent."""
    return {name: value for name, value in request.args.items() if value != ""}


def page(template: str, **context: Any) -> str:
    """Render ``dashboard/<template>``, with the banner while no operator is configured."""
    operators = current_operators()
    return render_template(
        f"dashboard/{template}", open_dashboard=not operators.configured, **context
    )
