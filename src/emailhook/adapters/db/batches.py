"""Long deletes and updates cut into short transactions, with a rest between them: a prune
must never hold the write lock (SQLite's one lock, PostgreSQL's row locks) for long."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

#: rows per transaction
BATCH = 500


@dataclass(frozen=True, slots=True)
class Done:
    rows: int
    batches: int


def in_batches(
    sessions: sessionmaker[Session],
    id_column: InstrumentedAttribute[Any],
    condition: ColumnElement[bool],
    act: Callable[[Session, list[int]], object],
    *,
    batch: int = BATCH,
    pause_seconds: float = 0.0,
    on_batch: Callable[[int], None] = lambda rows: None,
) -> Done:
    """Call ``act`` on the ids of the rows matching ``condition``, ``batch`` of them in id
    order a transaction, until none matches; return how many rows and transactions.

    ``act`` must make the rows it is given stop matching (delete them, clear what matched),
    or the loop never ends. ``on_batch`` hears each batch's size after its commit.
    """
    rows = batches = 0
    while True:
        with sessions.begin() as session:
            stmt = select(id_column).where(condition).order_by(id_column).limit(batch)
            ids = list(session.execute(stmt).scalars())
            if ids:
                act(session, ids)
        if not ids:
            return Done(rows, batches)
        rows, batches = rows + len(ids), batches + 1
        on_batch(len(ids))
        if pause_seconds:
            time.sleep(pause_seconds)  # leave the write lock to the worker between batches
