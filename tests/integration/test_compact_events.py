"""Migration 0005 on a real database: rows stored whole before it read back the same after it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, create_engine

from emailhook.adapters import migrations
from emailhook.adapters.db.bulk import sqlite_time
from emailhook.adapters.db.engine import dumps_json
from emailhook.adapters.reads import dashboard as dashboard_queries
from emailhook.adapters.store.events import stored_key
from emailhook.providers.infobip.parsing import parse_body
from emailhook.settings import Settings
from support.services import fresh_postgres_database

RECEIVED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
#: the 0004 columns of an event row, in order
OLD_COLUMNS = [
    "event_key", "kind", "status", "email", "data_recebimento", "id_externo", "qj_contact_id",
    "event_at", "sent_at", "bulk_id", "provider_event_id", "status_id", "status_group_id",
    "status_name", "status_description", "error_id", "error_name", "error_description",
    "error_permanent", "url", "campaign", "creditor_id", "creditor_name", "callback_data",
    "callback_data_raw", "raw",
]  # fmt: skip


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = Settings(data_dir=tmp_path).resolved_database_url
        created = create_engine(url)
        yield created
        created.dispose()
        return
    with fresh_postgres_database() as url:
        created = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        yield created
        created.dispose()


def _old_row(event: Any, sqlite: bool) -> tuple[Any, ...]:
    def time(value: datetime | None) -> Any:
        return sqlite_time(value) if sqlite else value

    return (
        event.event_key, event.kind.value, event.status, event.email, time(RECEIVED),
        event.message_id, event.qj_contact_id, time(event.event_at), time(event.sent_at),
        event.bulk_id, event.provider_event_id, event.status_id, event.status_group_id,
        event.status_name, event.status_description, event.error_id, event.error_name,
        event.error_description, event.error_permanent, event.url, event.campaign,
        event.creditor_id, event.creditor_name, dumps_json(event.callback_data),
        event.callback_data_raw, dumps_json(event.raw),
    )  # fmt: skip


def _canonical(value: object) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def test_rows_stored_whole_before_0005_give_back_the_same_raw_event_after_it_and_back(
    engine: Engine, seed_bodies: dict[str, bytes]
) -> None:
    migrations.upgrade(engine, "0004")
    events = [e for body in seed_bodies.values() for e in parse_body(orjson.loads(body)).events]
    # A mixed-case address and a callbackData no known encoding writes again stay as sent.
    odd = parse_body(
        {
            "notificationType": "OPENED",
            "recipient": "Ana@Example.COM",
            "messageId": "m-odd",
            "eventId": "e-odd",
            "callbackData": '{"qj_contact_id":3}',
        }
    ).events
    events += odd
    sqlite = engine.dialect.name == "sqlite"
    marks = "?" if sqlite else "%s"
    with engine.begin() as conn:
        conn.exec_driver_sql(
            f"INSERT INTO email_callback ({', '.join(OLD_COLUMNS)})"
            f" VALUES ({', '.join([marks] * len(OLD_COLUMNS))})",
            [_old_row(e, sqlite) for e in events],
        )
    migrations.upgrade(engine)
    migrations.check(engine)
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        restored = dashboard_queries.raw_events(session, list(range(1, len(events) + 1)))
    assert [_canonical(restored[i + 1]) for i in range(len(events))] == [
        _canonical(e.raw) for e in events
    ]
    with engine.connect() as conn:
        rest = conn.exec_driver_sql("SELECT raw_rest FROM email_callback ORDER BY id").all()
        keys = conn.exec_driver_sql("SELECT event_key FROM email_callback ORDER BY id").all()
    assert [bytes(key) for (key,) in keys] == [stored_key(e.event_key) for e in events]
    assert all(len(key) == 21 for (key,) in keys)
    last = rest[-1][0] if isinstance(rest[-1][0], dict) else orjson.loads(rest[-1][0])
    assert last["recipient"] == "Ana@Example.COM"
    assert last["callbackData"] == '{"qj_contact_id":3}'

    _downgrade(engine, "0004")
    with engine.connect() as conn:
        back = conn.exec_driver_sql(
            "SELECT raw, callback_data_raw, event_key FROM email_callback ORDER BY id"
        ).all()
    for event, (raw, text, key) in zip(events, back, strict=True):
        assert key == event.event_key
        assert _canonical(raw if isinstance(raw, dict) else orjson.loads(raw)) == _canonical(
            event.raw
        )
        assert text == event.callback_data_raw


def _downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    config = migrations.alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
