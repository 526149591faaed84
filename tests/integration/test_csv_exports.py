"""Every CSV the service writes holds no cell a spreadsheet would evaluate (OWASP's CSV
injection); the JSON answers keep the values as stored."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from flask import Flask

from emailhook import create_app
from emailhook.adapters.db.models import SuppressedAddress
from emailhook.domain.csv_cells import FORMULA_STARTS
from emailhook.service.receive.processing import Processor
from emailhook.settings import Settings
from support.operators import OPERATOR, credentials
from support.policies import retry, soft_bounces
from support.services import fresh_postgres_database
from support.spool import post_bodies

#: valid addresses a spreadsheet would evaluate: stored from events like any other
VALID_FORMULAS = ["=cmd@evil.example", "+cmd@evil.example", "-2+3@evil.example"]
#: no addresses, but rows a database filled before the fix may hold (issue 28)
OLD_ROWS = [
    '=hyperlink("http://evil.example","x")@evil.example',
    "@sum(1+1)@evil.example",
    "\tx@evil.example",
    "\rx@evil.example",
]
#: every CSV the service serves
EXPORTS = ["/suppressions?format=csv"]


@pytest.fixture(params=["sqlite", "postgres"])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    settings: dict[str, Any] = {"data_dir": tmp_path, "operator_users": OPERATOR}
    if request.param == "sqlite":
        yield create_app(Settings(**settings))
        return
    with fresh_postgres_database(migrated=True) as url:
        made = create_app(Settings(**settings, database_url=url))
        yield made
        made.extensions["emailhook"].database.engine.dispose()
        made.extensions["emailhook"].reads.engine.dispose()


def _hard_bounce(template: dict[str, Any], index: int, to: str) -> dict[str, Any]:
    return {
        **template,
        "to": to,
        "messageId": f"formula-{index}",
        "status": {"groupId": 5, "groupName": "UNDELIVERABLE", "id": 5, "name": "REJECTED"},
        "error": {"id": 6009, "name": "NO_SUCH_USER", "permanent": True},
    }


def test_no_exported_cell_is_a_formula_and_json_keeps_the_values(
    app: Flask, load_seed: Any
) -> None:
    template = load_seed("delivered_dict")["results"][0]
    batch = {"results": [_hard_bounce(template, i, to) for i, to in enumerate(VALID_FORMULAS)]}
    ids = post_bodies(app, [orjson.dumps(batch)])
    Processor(
        app.extensions["emailhook"].database.sessions, retry(), soft_bounces=soft_bounces()
    ).process(ids)
    with app.extensions["emailhook"].database.sessions.begin() as session:
        for email in OLD_ROWS:
            since = datetime(2026, 1, 1, tzinfo=UTC)
            session.add(
                SuppressedAddress(email=email, reason="hard_bounce", reason_rank=60, since=since)
            )
    client = app.test_client()
    auth = credentials(OPERATOR)
    everything = VALID_FORMULAS + OLD_ROWS

    for url in EXPORTS:
        answer = client.get(url, headers=auth)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True), newline="")))
        cells = [cell for row in rows for cell in row]
        assert not [cell for cell in cells if cell.startswith(FORMULA_STARTS)]
        assert sorted(row[0] for row in rows[1:]) == sorted("'" + e for e in everything)
    by_accept = client.get("/suppressions", headers={**auth, "Accept": "text/csv"})
    assert "'+cmd@evil.example" in by_accept.get_data(as_text=True)

    items = client.get("/suppressions", headers=auth).json["items"]  # type: ignore[index]
    assert sorted(item["email"] for item in items) == sorted(everything)
