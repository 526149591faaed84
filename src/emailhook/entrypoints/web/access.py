"""Who may read the data: the dashboard and the query API both answer operators only."""

from __future__ import annotations

from flask import current_app, g, request

from emailhook.service.operators import OperatorAuth


def operators_only() -> None:
    """A ``before_request`` hook: 401 without operator credentials, 404 when turned off.

    The name of the operator (None when none are configured) is kept in ``g.operator``.
    """
    operators: OperatorAuth = current_app.extensions["emailhook.operators"]
    g.operator = operators.verify(
        request.headers.get("Authorization"), remote_addr=request.remote_addr
    )
