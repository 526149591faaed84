"""Listing a receipt-time window: the same pages whichever index PostgreSQL reads them from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from emailhook.adapters.db.engine import Database
from emailhook.adapters.inbox import bodies as inbox
from emailhook.adapters.reads import queries
from emailhook.adapters.store.events import Provenance, insert_events
from emailhook.domain.events import EmailEvent, EventKind
from emailhook.domain.inbox import BodyState

START = datetime(2026, 1, 1, tzinfo=UTC)


def stored_hours(db: Database, hours: int, per_hour: int) -> dict[int, datetime]:
    """Store ``per_hour`` events received in each of ``hours`` hours; return id -> receipt."""
    received: dict[int, datetime] = {}
    for hour in range(hours):
        at = START + timedelta(hours=hour, minutes=30)
        with db.sessions.begin() as session:
            (body,) = inbox.add_bodies(
                session, [inbox.NewBody(b"{}", "delivery_reports", 1, BodyState.DONE, at, None)]
            )
            events = [
                EmailEvent(f"k{hour}-{n}", EventKind.DELIVERY_REPORT, "DELIVERED", None, None,
                           None, None, None, None, None)
                for n in range(per_hour)
            ]  # fmt: skip
            for s in insert_events(session, [(e, Provenance(body, at)) for e in events]):
                received[s.id] = at
    return received


def test_a_window_lists_its_events_newest_first_page_by_page(database: Database) -> None:
    received = stored_hours(database, hours=6, per_hour=7)
    since, until = START + timedelta(hours=2), START + timedelta(hours=4)
    expected = sorted((i for i, at in received.items() if since <= at < until), reverse=True)
    window = queries.CallbackFilter(since=since, until=until)
    pages, before, more = [], None, True
    while more:
        with database.sessions.begin() as session:
            page, more = queries.list_callbacks(session, window, limit=5, before_id=before)
        pages.append([item.id for item in page])
        before = page[-1].id if page else None
    assert [i for page in pages for i in page] == expected
    assert [len(page) for page in pages] == [5, 5, 4]


def test_a_window_wider_than_the_probe_lists_the_same_events(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    received = stored_hours(database, hours=3, per_hour=4)
    since = START + timedelta(hours=1)
    expected = sorted((i for i, at in received.items() if at >= since), reverse=True)[:3]
    with database.sessions.begin() as session:
        narrow, _ = queries.list_callbacks(
            session, queries.CallbackFilter(since=since), limit=3, before_id=None
        )
    monkeypatch.setattr(queries, "WINDOW_PROBE", 2)  # every window "wide": primary key order
    with database.sessions.begin() as session:
        wide, _ = queries.list_callbacks(
            session, queries.CallbackFilter(since=since), limit=3, before_id=None
        )
    assert [item.id for item in narrow] == [item.id for item in wide] == expected
