"""What every provider's send test shares: the send key, and the two steps around the
provider — a worker's send task run now, and the message read back through the API."""

from __future__ import annotations

from typing import Any

from flask import Flask

from emailhook.composition.send import dispatcher
from emailhook.settings import Settings

SEND_KEY = "send-key-for-tests-1"
AUTH = {"Authorization": f"Bearer {SEND_KEY}"}


def dispatch(settings: Settings, app: Flask, ids: list[str]) -> None:
    """Send ``ids`` now, as a worker's send task does (its connections closed after)."""
    sender = dispatcher(settings, app.extensions["emailhook"].database.sessions)
    try:
        sender.send(ids)
    finally:
        sender.close()


def message(app: Flask, public_id: str) -> dict[str, Any]:
    """Return ``GET /messages/<public_id>``'s answer."""
    found: dict[str, Any] = app.test_client().get(f"/messages/{public_id}", headers=AUTH).get_json()
    return found
