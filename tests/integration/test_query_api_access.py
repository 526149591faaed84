"""The query API shows addresses and complaints: with operators configured, it answers them only."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import SEED_EVENTS
from emailhook import create_app
from emailhook.service.receive.processing import Processor
from emailhook.settings import Settings
from support.operators import OPERATOR, credentials
from support.policies import retry, soft_bounces
from support.spool import post_bodies

API_URLS = ["/email-callbacks", "/contacts/1234", "/suppressions", "/suppressions?format=csv"]


@pytest.mark.parametrize("url", API_URLS)
def test_with_operators_the_query_api_asks_for_credentials(tmp_path: Path, url: str) -> None:
    client = create_app(Settings(data_dir=tmp_path, operator_users=OPERATOR)).test_client()
    for headers in ({}, credentials("ana:wrong"), {"Authorization": "Bearer ana"}):
        refused = client.get(url, headers=headers)
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"].startswith("Basic realm=")
        assert refused.json == {"error": "unauthorized", "message": "operator credentials required"}
    answered = client.get(url, headers=credentials(OPERATOR))
    assert answered.status_code in {200, 404}  # 404: no events for that contact yet
    if answered.status_code == 404:
        assert "qj_contact_id" in answered.json["message"]  # type: ignore[index]


def test_operators_read_what_was_stored(tmp_path: Path, seed_bodies: dict[str, bytes]) -> None:
    app = create_app(Settings(data_dir=tmp_path, operator_users=OPERATOR))
    # the webhook is not an operator's: it takes bodies without operator credentials
    ids = post_bodies(app, list(seed_bodies.values()))
    Processor(
        app.extensions["emailhook"].database.sessions, retry(), soft_bounces=soft_bounces()
    ).process(ids)
    page = app.test_client().get("/email-callbacks?limit=1000", headers=credentials(OPERATOR))
    assert page.status_code == 200
    assert len(page.json["items"]) == SEED_EVENTS  # type: ignore[index]


def test_production_without_operators_turns_the_query_api_off(tmp_path: Path) -> None:
    production = create_app(
        Settings(data_dir=tmp_path, env="production", webhook_tokens="t0k3n-long-enough")
    ).test_client()
    for url in API_URLS:
        response = production.get(url)
        assert response.status_code == 404
        assert "EMAILHOOK_OPERATOR_USERS" in response.json["message"]  # type: ignore[index]
    assert production.get("/healthz").status_code == 200


def test_development_without_operators_leaves_it_open(tmp_path: Path) -> None:
    client = create_app(Settings(data_dir=tmp_path)).test_client()
    assert client.get("/suppressions").status_code == 200
