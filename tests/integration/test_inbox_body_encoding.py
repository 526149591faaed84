"""Inbox bodies are stored deflated on SQLite and PostgreSQL, read back as received, and
migration 0009 keeps the bodies stored before it readable (and gives them back on downgrade)."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from alembic import command
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from emailhook.adapters.db import schema as migrations
from emailhook.adapters.db.body_encoding import DEFLATE, IDENTITY
from emailhook.adapters.db.bulk import sqlite_time
from emailhook.adapters.db.engine import Database
from emailhook.adapters.db.models import InboxBody
from emailhook.adapters.inbox import bodies as inbox
from emailhook.domain.inbox import BodyState, NewBody

RECEIVED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _new(body: bytes) -> NewBody:
    return NewBody(body, "delivery_reports", 1, BodyState.PENDING, RECEIVED, None)


def test_bodies_are_stored_deflated_and_every_reader_gets_them_as_received(
    database: Database, seed_bodies: dict[str, bytes]
) -> None:
    noise = os.urandom(2000)
    bodies = [*seed_bodies.values(), noise, b"{}"]
    with database.sessions() as session:
        ids = inbox.add_bodies(session, [_new(b) for b in bodies])
        session.commit()
    with database.engine.connect() as conn:
        stored = conn.execute(text("SELECT body, body_encoding FROM inbox_body ORDER BY id")).all()
    encodings = [encoding for _, encoding in stored]
    assert encodings == [DEFLATE] * len(seed_bodies) + [IDENTITY, IDENTITY]
    on_disk = sum(len(bytes(body)) for body, _ in stored[: len(seed_bodies)])
    assert on_disk < sum(map(len, seed_bodies.values())) / 2
    with database.sessions() as session:
        pending = inbox.load_pending(session, ids)
        rows = session.execute(select(InboxBody).order_by(InboxBody.id)).scalars().all()
        assert [p.body for p in pending] == bodies  # what the worker parses
        assert [row.body for row in rows] == bodies  # the CLI, the dashboard, the operators


def test_bodies_stored_before_0009_read_as_received_and_a_downgrade_inflates_new_ones(
    engine: Engine, seed_bodies: dict[str, bytes]
) -> None:
    old, new = seed_bodies["delivered"], seed_bodies["opened"]
    at = sqlite_time(RECEIVED) if engine.dialect.name == "sqlite" else RECEIVED
    migrations.upgrade(engine, "0008")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO inbox_body (received_at, body, shape, event_count, state,"
                " available_at, deliveries, attempts)"
                " VALUES (:at, :body, 'delivery_reports', 1, 'done', :at, 1, 0)"
            ),
            {"at": at, "body": old},
        )
    migrations.upgrade(engine)
    with Session(engine) as session:
        inbox.add_bodies(session, [_new(new)])
        session.commit()
        rows = session.execute(select(InboxBody).order_by(InboxBody.id)).scalars().all()
        assert [(r.body, r.body_encoding) for r in rows] == [(old, IDENTITY), (new, DEFLATE)]
        assert bytes(rows[0].stored_body) == old  # not rewritten by the upgrade

    config = migrations.alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0008")
    with engine.connect() as conn:
        back = conn.execute(text("SELECT body FROM inbox_body ORDER BY id")).scalars().all()
    assert [bytes(b) for b in back] == [old, new]
