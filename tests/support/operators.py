"""Operator credentials for the dashboard and query API tests."""

from __future__ import annotations

import base64

#: the operator the tests configure (EMAILHOOK_OPERATOR_USERS)
OPERATOR = "ana:correct horse"


def credentials(value: str) -> dict[str, str]:
    """The ``Authorization`` header of HTTP Basic ``user:password``."""
    return {"Authorization": "Basic " + base64.b64encode(value.encode()).decode()}
