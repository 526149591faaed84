"""What every provider's send test shares: the send key, and the three steps around the
provider — messages accepted through the API, a worker's send task run now, and the message
read back through the API."""

from __future__ import annotations

from typing import Any

from flask import Flask

from emailhook.composition.send import dispatcher
from emailhook.settings import Settings

SEND_KEY = "send-key-for-tests-1"
AUTH = {"Authorization": f"Bearer {SEND_KEY}"}


def accept(app: Flask, *to: Any, **fields: Any) -> list[str]:
    """``POST /messages`` a plain message to ``to`` (``fields`` added or overriding); return
    the ids of its messages, one a recipient."""
    body = {"from": "shop@example.com", "subject": "Hi", "text": "Hello", "to": list(to)}
    answer = app.test_client().post("/messages", json=body | fields, headers=AUTH)
    assert answer.status_code == 202, answer.get_json()
    return [m["id"] for m in answer.get_json()["messages"]]


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
