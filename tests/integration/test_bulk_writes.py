"""The worker's bulk writes on a real database: each key once, values as the ORM writes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.dialects import sqlite

from emailhook.adapters.db.bulk import sqlite_time
from emailhook.adapters.db.engine import Database
from emailhook.adapters.db.models import EmailCallback, InboxBody
from emailhook.adapters.inbox import backlog
from emailhook.adapters.inbox import bodies as inbox
from emailhook.adapters.store.event_keys import stored_key
from emailhook.adapters.store.events import (
    Provenance,
    insert_events,
    insert_prepared,
    prepare_events,
)
from emailhook.domain import raw_event
from emailhook.domain.events import EmailEvent, EventKind
from emailhook.domain.inbox import BodyState

RECEIVED = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def event(key: str, **fields: Any) -> EmailEvent:
    values: dict[str, Any] = {
        "event_key": key,
        "kind": EventKind.DELIVERY_REPORT,
        "status": "DELIVERED",
        "email": f"{key}@example.com",
        "message_id": f"m-{key}",
        "bulk_id": None,
        "provider_event_id": None,
        "qj_contact_id": 7,
        "event_at": None,
        "sent_at": None,
        "raw": {"messageId": f"m-{key}"},
    }
    values.update(fields)
    return EmailEvent(**values)


def body(db: Database) -> int:
    with db.sessions.begin() as session:
        (body_id,) = inbox.add_bodies(
            session,
            [inbox.NewBody(b"{}", "delivery_reports", 1, BodyState.PENDING, RECEIVED, None)],
        )
    return body_id


def store(db: Database, events: list[EmailEvent], body_id: int) -> dict[str, int]:
    origin = Provenance(body_id, RECEIVED)
    with db.sessions.begin() as session:
        stored = insert_events(session, [(e, origin) for e in events])
    return {s.event.event_key: s.id for s in stored}


def rows(db: Database) -> dict[str, int]:
    """Return the id of each stored key, by the keys these tests use (a to z, k00000 ...)."""
    names = {stored_key(k): k for k in [*"abcdp", "p1", "x1", *(f"k{n:05}" for n in range(3000))]}
    with db.sessions() as session:
        found = session.execute(select(EmailCallback.event_key, EmailCallback.id))
        return {names[bytes(key)]: row_id for key, row_id in found.all()}


def test_each_key_is_stored_once_whether_repeated_within_a_batch_or_across_batches(
    database: Database,
) -> None:
    body_id = body(database)
    first = store(database, [event("a"), event("b"), event("a"), event("c"), event("b")], body_id)
    assert sorted(first) == ["a", "b", "c"]
    assert rows(database) == first  # the ids returned are the ids stored

    second = store(database, [event("c"), event("d"), event("a"), event("d")], body_id)
    assert second == {"d": rows(database)["d"]}
    assert store(database, [event("a"), event("d")], body_id) == {}
    assert sorted(rows(database)) == ["a", "b", "c", "d"]


def test_a_batch_larger_than_one_sqlite_statement_stores_every_new_event_once(
    database: Database,
) -> None:
    body_id = body(database)
    store(database, [event(f"k{n:05}") for n in range(0, 3000, 3)], body_id)
    # 3000 rows: three multi-row statements on SQLite; a third of them already stored.
    new = store(database, [event(f"k{n:05}") for n in range(3000)], body_id)
    assert len(new) == 2000
    assert all(int(key[1:]) % 3 for key in new)
    stored = rows(database)
    assert len(stored) == 3000
    assert all(stored[key] == row_id for key, row_id in new.items())


def test_stored_values_are_exactly_what_the_orm_stores(database: Database) -> None:
    """Same event, written by the bulk path and by a Core insert: every column reads the same."""
    body_id = body(database)
    minus_three = timezone(timedelta(hours=-3))
    samples = [
        event(
            "full",
            kind=EventKind.TRACKING,
            status="CLICKED",
            email="joão@example.com",
            bulk_id="bulk-1",
            provider_event_id="ev-1",
            event_at=datetime(2024, 7, 16, 17, 26, 54, 966000, tzinfo=minus_three),
            sent_at=datetime(2024, 7, 16, 20, 0, tzinfo=UTC),  # no microseconds
            status_id=5,
            status_group_id=3,
            status_name="DELIVERED_TO_HANDSET",
            status_description="Message delivered",
            error_id=0,
            error_name="NO_ERROR",
            error_description="No Error",
            error_permanent=False,
            url="https://example.com/?a=1&b=ç",
            campaign="c",
            creditor_id="9",
            creditor_name="Credor",
            callback_data={"qj_contact_id": 7, "nested": [1, 2.5, None, True]},
            callback_data_raw='{"qj_contact_id": 7}',
            raw={"messageId": "m-full", "price": {"pricePerMessage": 0.001}},
        ),
        event("bare", qj_contact_id=None, status=None, email=None, error_permanent=True),
    ]
    store(database, samples, body_id)
    origin = Provenance(body_id, RECEIVED)
    with database.sessions.begin() as session:
        session.execute(
            insert(EmailCallback),
            [_orm_values(e, origin, key=f"orm-{e.event_key}") for e in samples],
        )
    columns = [c.name for c in EmailCallback.__table__.columns if c.name not in ("id", "event_key")]
    with database.engine.connect() as conn:
        # As the driver returns them: SQLite's DATETIME and JSON text, PostgreSQL's values.
        stored = {
            bytes(key): tuple(values)
            for key, *values in conn.exec_driver_sql(
                f"SELECT event_key, {', '.join(columns)} FROM email_callback"
            )
        }
    for sample in samples:
        key, orm = stored_key(sample.event_key), stored_key(f"orm-{sample.event_key}")
        assert stored[key] == stored[orm]
    if database.engine.dialect.name == "sqlite":
        at = dict(zip(columns, stored[stored_key("full")], strict=True))
        assert at["event_at"] == "2024-07-16 20:26:54.966000"
        assert at["sent_at"] == "2024-07-16 20:00:00.000000"
        assert stored[stored_key("bare")][columns.index("callback_data")] == "null"


def test_sqlite_time_is_the_text_sqlalchemy_writes() -> None:
    write = sqlite.DATETIME().bind_processor(sqlite.dialect())
    assert write is not None
    for value in (
        datetime(2024, 7, 16, 20, 26, 54, 966000, tzinfo=UTC),
        datetime(2024, 7, 16, 20, 26, tzinfo=UTC),
        datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
    ):
        assert sqlite_time(value) == write(value.replace(tzinfo=None))
    offset = datetime(2024, 7, 16, 17, 0, tzinfo=timezone(timedelta(hours=-3)))
    assert sqlite_time(offset) == "2024-07-16 20:00:00.000000"
    assert sqlite_time(None) is None


def test_mark_done_records_every_body_of_a_batch(database: Database) -> None:
    ids = [body(database) for _ in range(3)]
    done_at = datetime(2026, 1, 3, tzinfo=UTC)
    with database.sessions.begin() as session:
        inbox.mark_done(
            session,
            [
                inbox.Finished(ids[0], BodyState.DONE, 2, 0),
                inbox.Finished(ids[2], BodyState.UNRECOGNIZED, 0, 1),
            ],
            now=done_at,
        )
    with database.sessions() as session:
        bodies = {b.id: b for b in backlog.list_bodies(session, states=list(BodyState), limit=10)}
        pending = session.execute(
            select(func.count()).where(InboxBody.state == BodyState.PENDING)
        ).scalar_one()
    assert (bodies[ids[0]].state, bodies[ids[0]].stored_events) == (BodyState.DONE, 2)
    assert (bodies[ids[2]].state, bodies[ids[2]].rejected_items) == (BodyState.UNRECOGNIZED, 1)
    assert bodies[ids[0]].processed_at == done_at
    assert bodies[ids[1]].state == BodyState.PENDING
    assert pending == 1


def _orm_values(e: EmailEvent, origin: Provenance, *, key: str) -> dict[str, Any]:
    """The row as the worker built it for SQLAlchemy Core before the bulk path."""
    return {
        "event_key": stored_key(key),
        "kind": e.kind.value,
        "status": e.status,
        "email": e.email,
        "data_recebimento": origin.received_at,
        "id_externo": e.message_id,
        "qj_contact_id": e.qj_contact_id,
        "event_at": e.event_at,
        "sent_at": e.sent_at,
        "bulk_id": e.bulk_id,
        "provider_event_id": e.provider_event_id,
        "status_id": e.status_id,
        "status_group_id": e.status_group_id,
        "status_name": e.status_name,
        "status_description": e.status_description,
        "error_id": e.error_id,
        "error_name": e.error_name,
        "error_description": e.error_description,
        "error_permanent": e.error_permanent,
        "url": e.url,
        "campaign": e.campaign,
        "creditor_id": e.creditor_id,
        "creditor_name": e.creditor_name,
        "callback_data": e.callback_data,
        "raw_rest": raw_event.rest(
            e.raw, e.provider, e.kind.value, {name: getattr(e, name) for name in raw_event.COLUMNS}
        ),
        "inbox_id": origin.inbox_id,
    }


def test_load_pending_returns_only_pending_bodies_in_id_order_with_aware_times(
    database: Database,
) -> None:
    ids = [body(database) for _ in range(3)]
    with database.sessions.begin() as session:
        inbox.mark_done(session, [inbox.Finished(ids[1], BodyState.DONE, 1, 0)], now=RECEIVED)
    with database.sessions.begin() as session:
        pending = inbox.load_pending(session, [ids[2], ids[1], ids[0], 10_000])
    assert [p.id for p in pending] == [ids[0], ids[2]]
    assert all(p.received_at == RECEIVED and p.received_at.tzinfo is UTC for p in pending)
    assert pending[0].body == b"{}"
    assert (pending[0].attempts, pending[0].request_id) == (0, None)


def test_events_prepared_before_the_transaction_store_as_the_others(database: Database) -> None:
    body_id = body(database)
    origin = Provenance(body_id, RECEIVED)
    dialect = database.engine.dialect.name
    prepared = prepare_events([(event("p1"), origin), (event("p1"), origin)], dialect)
    assert list(prepared.by_key) == ["p1"]  # a repeated key is one row
    with database.sessions.begin() as session:
        stored = insert_prepared(session, prepared)
    assert [s.event.event_key for s in stored] == ["p1"]
    with database.sessions.begin() as session:
        assert insert_prepared(session, prepared) == []  # the same rows again: repeats
    assert rows(database) == {"p1": stored[0].id}


def test_rows_prepared_for_another_database_are_refused(database: Database) -> None:
    other = "postgresql" if database.engine.dialect.name == "sqlite" else "sqlite"
    prepared = prepare_events([(event("x1"), Provenance(body(database), RECEIVED))], other)
    with database.sessions.begin() as session, pytest.raises(ValueError, match="prepared for"):
        insert_prepared(session, prepared)
