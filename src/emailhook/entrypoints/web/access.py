"""Who may read the data: the dashboard and the query API both answer operators only."""

from __future__ import annotations

from flask import g, request

from emailhook.entrypoints.web.services import current_operators


def operators_only() -> None:
    """A ``before_request`` hook: 401 without operator credentials, 404 when turned off.

    The name of the operator (None when none are configured) is kept in ``g.operator``.
    """
    g.operator = current_operators().verify(
        request.headers.get("Authorization"), remote_addr=request.remote_addr
    )
