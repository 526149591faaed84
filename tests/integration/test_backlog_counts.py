"""The pipeline's counts: exact for a small inbox; a large one's processed bodies estimated on
PostgreSQL (a count would read the whole inbox), every other state still counted."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from emailhook.adapters.db.engine import Database
from emailhook.adapters.inbox import backlog
from emailhook.adapters.inbox import bodies as inbox
from emailhook.domain.inbox import BodyState, NewBody

RECEIVED = datetime(2026, 1, 2, tzinfo=UTC)


def _add(database: Database, states: list[BodyState]) -> None:
    new = [NewBody(b'{"results": []}', "unknown", 0, s, RECEIVED, None) for s in states]
    with database.sessions.begin() as session:
        inbox.add_bodies(session, new)


def _backlog(database: Database) -> dict[str, int]:
    with database.sessions() as session:
        return backlog.counts(session)


def test_a_small_inbox_is_counted_exactly(database: Database) -> None:
    _add(database, [BodyState.DONE] * 7 + [BodyState.PENDING] * 2 + [BodyState.DEAD])
    counts = _backlog(database)
    assert (counts["done"], counts["pending"], counts["dead"], counts["accepted"]) == (7, 2, 1, 10)
    assert counts["done_estimated"] == 0


def test_a_large_inbox_estimates_only_its_processed_bodies_on_postgresql(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    _add(database, [BodyState.DONE] * 300 + [BodyState.PENDING] * 5 + [BodyState.DEAD] * 2)
    with database.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE inbox_body"))
    monkeypatch.setattr(backlog, "COUNT_DONE_UP_TO", 100)
    counts = _backlog(database)
    assert (counts["pending"], counts["dead"]) == (5, 2)  # counted, always
    if database.engine.dialect.name == "sqlite":  # no estimate: every state counted
        assert (counts["done"], counts["done_estimated"]) == (300, 0)
        return
    assert counts["done_estimated"] == 1
    assert counts["done"] == 300  # ANALYZE of a small table reads every row: exact here
    assert counts["accepted"] == 307
