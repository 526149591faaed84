"""Removing an address from the suppression list: API, dashboard button and CLI, recorded."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select

from emailhook import create_app
from emailhook.adapters.db.models import SuppressedAddress, SuppressionRemoval
from emailhook.entrypoints.cli.main import main
from emailhook.service.receive.processing import Processor
from emailhook.settings import Settings
from support.infobip_bodies import blocklist
from support.operators import OPERATOR, credentials
from support.policies import retry, soft_bounces
from support.spool import post_bodies

EMAIL = "optout@example.com"


def _app_with_a_block(tmp_path: Path) -> Flask:
    app = create_app(Settings(data_dir=tmp_path, operator_users=OPERATOR))
    ids = post_bodies(app, [blocklist(EMAIL, datetime(2026, 1, 1, tzinfo=UTC), "BLOCK")])
    Processor(
        app.extensions["emailhook"].database.sessions, retry(), soft_bounces=soft_bounces()
    ).process(ids)
    return app


def _listed(app: Flask) -> list[str]:
    with app.extensions["emailhook"].database.sessions() as session:
        return list(session.execute(select(SuppressedAddress.email)).scalars())


def _removals(app: Flask) -> list[tuple[str, str, str, str | None]]:
    with app.extensions["emailhook"].database.sessions() as session:
        rows = session.execute(select(SuppressionRemoval)).scalars()
        return [(r.email, r.operator, r.reason, r.was_reason) for r in rows]


def test_the_list_shows_reason_since_and_source_in_json_and_csv(tmp_path: Path) -> None:
    client = _app_with_a_block(tmp_path).test_client()
    auth = credentials(OPERATOR)
    [item] = client.get("/suppressions", headers=auth).json["items"]  # type: ignore[index]
    assert (item["email"], item["reason"], item["source"]) == (EMAIL, "unsubscribe", "emailhook")
    assert item["since"].startswith("2026-01-01T00:00:00")
    text = client.get("/suppressions?format=csv", headers=auth).get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["email"], r["reason"], r["source"], r["until"]) for r in rows] == [
        (EMAIL, "unsubscribe", "emailhook", "")
    ]


def test_delete_needs_operator_credentials_and_a_reason_and_is_recorded(tmp_path: Path) -> None:
    app = _app_with_a_block(tmp_path)
    client = app.test_client()
    url = f"/suppressions/{EMAIL}"
    assert client.delete(url, json={"reason": "x"}).status_code == 401
    assert client.delete(url, headers=credentials("ana:wrong")).status_code == 401
    refused = client.delete(url, headers=credentials(OPERATOR), json={"reason": "  "})
    assert refused.status_code == 400
    assert "reason" in refused.json["message"]  # type: ignore[index]
    assert _listed(app) == [EMAIL]
    done = client.delete(url, headers=credentials(OPERATOR), json={"reason": "asked by phone"})
    assert done.status_code == 200
    assert done.json["was_listed"] is True  # type: ignore[index]
    assert done.json["removed"]["operator"] == "ana"  # type: ignore[index]
    assert _listed(app) == []
    assert _removals(app) == [(EMAIL, "ana", "asked by phone", "unsubscribe")]


def test_the_dashboard_button_needs_credentials_and_the_dashboard_as_origin(
    tmp_path: Path,
) -> None:
    app = _app_with_a_block(tmp_path)
    client = app.test_client()
    auth = credentials(OPERATOR)
    listing = client.get("/dashboard/suppressions", headers=auth).get_data(as_text=True)
    assert 'action="/dashboard/suppressions/remove"' in listing
    assert 'data-source="emailhook"' in listing
    url, form = "/dashboard/suppressions/remove", {"email": EMAIL, "reason": "wrong address"}
    assert client.post(url, data=form, headers={"Origin": "http://localhost"}).status_code == 401
    for foreign in ({}, {"Origin": "https://evil.example"}, {"Referer": "https://evil.example/"}):
        assert client.post(url, data=form, headers={**auth, **foreign}).status_code == 403
    assert _listed(app) == [EMAIL]
    done = client.post(url, data=form, headers={**auth, "Origin": "http://localhost"})
    assert done.status_code == 303
    assert "removed=" in done.headers["Location"]
    assert _listed(app) == []
    assert _removals(app) == [(EMAIL, "ana", "wrong address", "unsubscribe")]


def test_the_cli_removes_with_a_reason(tmp_path: Path) -> None:
    app = _app_with_a_block(tmp_path)
    env = {"EMAILHOOK_DATA_DIR": str(tmp_path)}
    runner = CliRunner()
    missing = runner.invoke(main, ["suppressions", "remove", EMAIL], env=env)
    assert missing.exit_code == 2  # --reason is required
    done = runner.invoke(
        main,
        ["suppressions", "remove", EMAIL, "--reason", "ticket 42", "--operator", "rui"],
        env=env,
    )
    assert done.exit_code == 0, done.output
    assert "ticket 42" in done.output
    assert _listed(app) == []
    assert _removals(app) == [(EMAIL, "rui", "ticket 42", "unsubscribe")]
