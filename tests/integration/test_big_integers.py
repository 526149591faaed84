"""A sender's callbackData may hold an integer beyond 64 bits: it is stored and shown."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from emailhook import create_app
from emailhook.service.receive.processing import Processor
from emailhook.settings import Settings
from support.policies import retry, soft_bounces
from support.services import fresh_postgres_database
from support.spool import post_bodies

HUGE = 123456789012345678901234567890  # 97 bits: orjson writes no integer beyond 64


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    if request.param == "sqlite":
        yield None
        return
    with fresh_postgres_database(migrated=True) as url:
        yield url


def test_a_callback_integer_beyond_64_bits_is_stored_and_shown(
    database_url: str | None, tmp_path: Path
) -> None:
    app = create_app(Settings(data_dir=tmp_path, database_url=database_url))
    body = {
        "results": [
            {
                "messageId": "big-int-1",
                "to": "big@example.com",
                "status": {"groupName": "DELIVERED"},
                "callbackData": f"{{'qj_contact_id': 7, 'order': {HUGE}}}",
            }
        ]
    }
    ids = post_bodies(app, [json.dumps(body).encode()])
    services = app.extensions["emailhook"]
    outcome = Processor(services.database.sessions, retry(), soft_bounces=soft_bounces()).process(
        ids
    )
    assert (outcome.stored, outcome.failed) == (1, [])
    client = app.test_client()
    page = client.get("/email-callbacks?qj_contact_id=7")
    assert page.status_code == 200
    (item,) = page.json["items"]  # type: ignore[index]
    assert item["callback_data"]["order"] == HUGE
    assert client.get("/dashboard/events").status_code == 200
    for database in (services.database, services.reads):
        database.engine.dispose()
