"""Migration 0007 on a real database: rows stored whole before it read back the same after it,
for Infobip's events of every key kind and every other provider's."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from emailhook.adapters.db import schema as migrations
from emailhook.adapters.db.bulk import sqlite_time
from emailhook.adapters.db.engine import dumps_json
from emailhook.adapters.reads import dashboard as dashboard_queries
from emailhook.adapters.store.event_keys import stored_key
from emailhook.domain.events import EmailEvent
from emailhook.providers.infobip.blocklist import parse_blocklist
from emailhook.providers.infobip.parsing import parse_body
from emailhook.providers.registry import parsers
from support.signing import parse_sample, sample_names

RECEIVED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
DATA = Path(__file__).resolve().parents[1] / "data"
BLOCKLIST = "blocklist_event_webhook__block_event_request_source_type_url_optout.json"
#: the 0006 columns of an event row, in order
OLD_COLUMNS = [
    "event_key", "kind", "status", "email", "data_recebimento", "id_externo", "qj_contact_id",
    "event_at", "sent_at", "bulk_id", "provider_event_id", "status_id", "status_group_id",
    "status_name", "status_description", "error_id", "error_name", "error_description",
    "error_permanent", "url", "campaign", "creditor_id", "creditor_name", "callback_data",
    "callback_data_raw", "raw", "provider", "event_type", "bounce_class", "reject_reason",
]  # fmt: skip


def _old_row(event: EmailEvent, sqlite: bool) -> tuple[Any, ...]:
    def time(value: datetime | None) -> Any:
        return sqlite_time(value) if sqlite else value

    return (
        event.event_key, event.kind.value, event.status, event.email, time(RECEIVED),
        event.message_id, event.qj_contact_id, time(event.event_at), time(event.sent_at),
        event.bulk_id, event.provider_event_id, event.status_id, event.status_group_id,
        event.status_name, event.status_description, event.error_id, event.error_name,
        event.error_description, event.error_permanent, event.url, event.campaign,
        event.creditor_id, event.creditor_name, dumps_json(event.callback_data),
        event.callback_data_raw, dumps_json(event.raw), event.provider, event.event_type.value,
        event.bounce_class.value if event.bounce_class else None,
        event.reject_reason.value if event.reject_reason else None,
    )  # fmt: skip


def _canonical(value: object) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _other_providers_events() -> list[EmailEvent]:
    found: dict[str, EmailEvent] = {}
    for name, provider in parsers().items():
        for sample in sample_names(name) if name != "infobip" else ():
            try:
                events = parse_sample(provider, sample).events
            except Exception:  # a sample that is not an event body (a confirmation)
                continue
            for event in events:
                found.setdefault(event.event_key, event)
    return list(found.values())


def _stored_events(seed_bodies: dict[str, bytes]) -> list[EmailEvent]:
    events = [e for body in seed_bodies.values() for e in parse_body(orjson.loads(body)).events]
    # A mixed-case address and a callbackData no known encoding writes again stay as sent;
    # an eventId key (ev:) and a long one (ev#).
    events += parse_body(
        {
            "notificationType": "OPENED",
            "recipient": "Ana@Example.COM",
            "messageId": "m-odd",
            "eventId": "e-odd",
            "callbackData": '{"qj_contact_id":3}',
        }
    ).events
    events += parse_body(
        {"notificationType": "CLICKED", "recipient": "b@x.org", "eventId": "L" * 120}
    ).events
    events += parse_blocklist(orjson.loads((DATA / "infobip" / BLOCKLIST).read_bytes())).events
    events += _other_providers_events()
    return events


def test_rows_stored_whole_before_0007_give_back_the_same_raw_event_after_it_and_back(
    engine: Engine, seed_bodies: dict[str, bytes]
) -> None:
    migrations.upgrade(engine, "0006")
    events = _stored_events(seed_bodies)
    prefixes = {e.event_key[:3] for e in events if e.provider == "infobip"}
    assert {"dr:", "tr:", "ev:", "ev#", "bl:"} <= prefixes
    assert len({e.provider for e in events}) >= 10
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

    with Session(engine) as session:
        restored = dashboard_queries.raw_events(session, list(range(1, len(events) + 1)))
    assert [_canonical(restored[i + 1]) for i in range(len(events))] == [
        _canonical(e.raw) for e in events
    ]
    with engine.connect() as conn:
        rest = conn.exec_driver_sql("SELECT raw_rest FROM email_callback ORDER BY id").all()
        keys = conn.exec_driver_sql("SELECT event_key FROM email_callback ORDER BY id").all()
    assert [bytes(key) for (key,) in keys] == [stored_key(e.event_key) for e in events]
    assert len({bytes(key) for (key,) in keys}) == len(events)
    assert all(len(key) == 21 for (key,) in keys)
    rests = [value if isinstance(value, dict) else orjson.loads(value) for (value,) in rest]
    odd = next(i for i, e in enumerate(events) if e.message_id == "m-odd")
    assert rests[odd]["recipient"] == "Ana@Example.COM"
    assert rests[odd]["callbackData"] == '{"qj_contact_id":3}'
    for event, kept in zip(events, rests, strict=True):
        if event.provider != "infobip":  # the others' raw items are kept whole, as sent
            assert _canonical(kept) == _canonical(event.raw)

    _downgrade(engine, "0006")
    with engine.connect() as conn:
        back = conn.exec_driver_sql(
            "SELECT raw, callback_data_raw, event_key FROM email_callback ORDER BY id"
        ).all()
    for event, (raw, text, key) in zip(events, back, strict=True):
        assert key == event.event_key
        assert _canonical(raw if isinstance(raw, dict) else orjson.loads(raw)) == _canonical(
            event.raw
        )
        assert text == (event.callback_data_raw if event.provider == "infobip" else None)


def _downgrade(engine: Engine, revision: str) -> None:
    config = migrations.alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
