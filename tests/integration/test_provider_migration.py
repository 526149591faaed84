"""Migration 0005 gives the Infobip events stored before it the very vocabulary the parser
gives them now, on both databases, and rebuilds the rollup with provider and event type."""

from __future__ import annotations

import json
from typing import Any

from alembic import command
from sqlalchemy import Engine, select, text

from emailhook.adapters.db.engine import Database
from emailhook.adapters.db.models import EmailCallback
from emailhook.adapters.db.schema import alembic_config, upgrade
from emailhook.service.receive.intake import SessionWriter
from emailhook.service.receive.processing import Processor
from support.clock import Clock
from support.policies import new_intake, retry, soft_bounces


def report(n: int, group: str, error: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "messageId": f"m-{n}",
        "to": f"a{n}@example.com",
        "doneAt": f"2026-01-01T10:00:{n:02d}.000+0000",
        "status": {"groupName": group},
        "error": error or {"id": 0},
        "callbackData": json.dumps({"qj_contact_id": n}),
    }


#: every branch of Infobip's mapping: groups, permanence flag, codes without it, refusals
REPORTS = [
    report(1, "DELIVERED"),
    report(2, "PENDING"),
    report(3, "EXPIRED"),
    report(4, "REJECTED", {"id": 12}),
    report(5, "UNDELIVERABLE", {"id": 6012, "permanent": True}),
    report(6, "UNDELIVERABLE", {"id": 6010, "permanent": False}),
    report(7, "UNDELIVERABLE", {"id": 6009}),  # no flag: a hard code
    report(8, "UNDELIVERABLE", {"id": 4242}),  # no flag, unknown code: soft
    report(9, "UNDELIVERABLE", {"id": 6003, "permanent": True}),
    report(10, "UNDELIVERABLE", {"id": 6034, "permanent": True}),
    report(11, "REJECTED", {"id": 6035}),
    report(12, "SOMETHING_NEW"),
]
TRACKING = [
    {"notificationType": kind, "messageId": f"t-{kind}", "recipient": "t@example.com"}
    for kind in ("OPENED", "CLICKED", "UNSUBSCRIBED", "COMPLAINED", "LATE_BOUNCE")
]

VOCABULARY = (
    EmailCallback.event_key,
    EmailCallback.provider,
    EmailCallback.event_type,
    EmailCallback.bounce_class,
    EmailCallback.reject_reason,
)


def vocabulary(engine: Engine) -> dict[str, tuple[Any, ...]]:
    with engine.connect() as connection:
        return {row[0]: tuple(row[1:]) for row in connection.execute(select(*VOCABULARY))}


ROLLUP = text(
    "SELECT provider, event_type, status, SUM(events) FROM event_rollup"
    " GROUP BY provider, event_type, status ORDER BY 1, 2, 3"
)


def rollup(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(ROLLUP)]


def test_the_backfill_gives_stored_infobip_events_the_parsers_vocabulary(
    database: Database, clock: Clock
) -> None:
    intake = new_intake(SessionWriter(database.sessions), clock=clock)
    bodies = [json.dumps({"results": REPORTS}).encode()]
    bodies += [json.dumps(event).encode() for event in TRACKING]
    ids = [intake.accept(body).body_id for body in bodies]
    Processor(database.sessions, retry(), clock=clock, soft_bounces=soft_bounces()).process(
        [i for i in ids if i is not None]
    )
    engine = database.engine
    parsed = vocabulary(engine)
    assert len(parsed) == 17
    assert {v[1] for v in parsed.values()} >= {"bounced", "rejected", "failed", "queued"}
    rollup_before = rollup(engine)
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0004")
    upgrade(engine)  # 0005: the columns again, filled from status and error
    assert vocabulary(engine) == parsed
    assert rollup(engine) == rollup_before
