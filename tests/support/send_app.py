"""What every provider's send test shares: the send key, and the three steps around the
provider — messages accepted through the API, a worker's send task run now, and the message
read back through the API."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from sqlalchemy import text

from emailhook import create_app
from emailhook.composition.send import dispatcher
from emailhook.settings import Settings
from support.services import fresh_postgres_database

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


@contextmanager
def app_on(backend: str, settings: Callable[[str | None], Settings]) -> Iterator[Flask]:
    """An app on ``backend`` ("sqlite", or "postgres": a fresh migrated database), made from
    ``settings(database_url)``; its engines disposed after. Modules share one per backend:
    building one (migrations) costs more than a test."""
    if backend == "sqlite":
        made = create_app(settings(None))
        yield made
        dispose(made)
        return
    with fresh_postgres_database(migrated=True) as url:
        made = create_app(settings(url))
        yield made
        dispose(made)


def dispose(app: Flask) -> None:
    services = app.extensions["emailhook"]
    services.database.engine.dispose()
    services.reads.engine.dispose()


def cleared(app: Flask, tables: Iterable[str]) -> Flask:
    """Return ``app`` with ``tables`` emptied: a shared app as a new test finds it."""
    with app.extensions["emailhook"].database.engine.begin() as connection:
        for table in tables:
            connection.execute(text(f"DELETE FROM {table}"))
    return app
