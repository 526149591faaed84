"""Readiness and request ids of the web app, against a real database and real brokers."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from emailhook import create_app
from emailhook.settings import Settings


def app_with_broker(tmp_path: Path, broker_url: str | None) -> Flask:
    values = {"CELERY_BROKER_URL": broker_url} if broker_url else {}
    return create_app(Settings(data_dir=tmp_path, **values))


def test_readyz_is_ready_when_database_and_broker_answer(tmp_path: Path) -> None:
    response = app_with_broker(tmp_path, None).test_client().get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ready", "checks": {"database": "ok", "broker": "ok"}}


@pytest.mark.parametrize(
    "unreachable", ["redis://127.0.0.1:1/0", "amqp://guest:guest@127.0.0.1:1//"]
)
def test_readyz_names_an_unreachable_broker(tmp_path: Path, unreachable: str) -> None:
    response = app_with_broker(tmp_path, unreachable).test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable"
    assert response.json["checks"]["database"] == "ok"
    assert response.json["checks"]["broker"].startswith("failed: ")
    assert "refused" in response.json["checks"]["broker"].lower()


def test_readyz_names_a_database_that_stopped_answering(tmp_path: Path) -> None:
    app = app_with_broker(tmp_path, None)
    (tmp_path / "emailhook.db").unlink()
    (tmp_path / "emailhook.db").mkdir()  # the file is gone and cannot come back
    app.extensions["emailhook"].database.engine.dispose()
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["database"].startswith("failed: OperationalError")
    assert response.json["checks"]["broker"] == "ok"


@pytest.mark.parametrize(
    ("sent", "kept"),
    [("abc-123", True), ("x" * 65, False), ("bad id with spaces", False), (None, False)],
)
def test_request_id_is_taken_when_usable_and_made_up_otherwise(
    tmp_path: Path, sent: str | None, kept: bool
) -> None:
    client = app_with_broker(tmp_path, None).test_client()
    headers = {"X-Request-Id": sent} if sent else {}
    response = client.post("/email", data=b"{}", headers=headers)
    returned = response.headers["X-Request-Id"]
    assert (returned == sent) is kept
    assert len(returned) == (len(sent) if kept and sent else 32)
    assert client.get("/email-callbacks?limit=nope").headers["X-Request-Id"]
