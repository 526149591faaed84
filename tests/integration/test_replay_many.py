"""Replaying every dead-lettered body: in short batches, with progress, none twice."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from sqlalchemy import select

from emailhook.adapters.db.engine import Database, open_database
from emailhook.adapters.db.models import InboxBody
from emailhook.adapters.inbox import bodies as inbox
from emailhook.composition.commands import operations
from emailhook.domain.inbox import BodyState, NewBody
from emailhook.entrypoints.cli.main import main
from emailhook.service.operations import REPLAY_BATCH
from emailhook.settings import Settings

RECEIVED = datetime(2026, 1, 2, tzinfo=UTC)


def _bodies(database: Database, states: list[BodyState]) -> list[int]:
    new = [NewBody(b'{"results": []}', "unknown", 0, s, RECEIVED, None) for s in states]
    with database.sessions.begin() as session:
        return inbox.add_bodies(session, new)


def _states(database: Database) -> dict[int, str]:
    with database.sessions() as session:
        rows = session.execute(select(InboxBody.id, InboxBody.state))
        return {int(row.id): str(row.state) for row in rows}


def test_every_dead_body_is_replayed_in_batches_and_nothing_else(
    database: Database, tmp_path: Path
) -> None:
    dead = REPLAY_BATCH * 2 + 345
    ids = _bodies(database, [BodyState.DEAD] * dead + [BodyState.UNRECOGNIZED, BodyState.DONE])
    ops = operations(Settings(data_dir=tmp_path), database)
    assert ops.count_bodies([BodyState.DEAD]) == dead
    batches: list[int] = []

    assert ops.replay(states=[BodyState.DEAD], on_batch=batches.append) == dead

    assert batches == [REPLAY_BATCH, REPLAY_BATCH, 345]
    states = _states(database)
    assert [states[i] for i in ids[:dead]] == [BodyState.PENDING] * dead
    assert (states[ids[-2]], states[ids[-1]]) == (BodyState.UNRECOGNIZED, BodyState.DONE)
    assert ops.replay(states=[BodyState.DEAD], on_batch=batches.append) == 0
    assert len(batches) == 3  # no empty batch reported


class Lines(logging.Handler):
    """The messages of the records it is given (caplog would see a record twice once another
    test has made emailhook's logger propagate to the root as well)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_cli_replay_of_every_dead_body_reports_progress(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("EMAILHOOK_DATA_DIR", str(tmp_path))
    database = open_database(Settings(data_dir=tmp_path), lock_timeout_seconds=2)
    _bodies(database, [BodyState.DEAD] * (REPLAY_BATCH * 3))
    logger, seen = logging.getLogger("emailhook.progress"), Lines()
    logger.addHandler(seen)
    try:
        result = CliRunner().invoke(main, ["inbox", "replay", "--dead"])
    finally:
        logger.removeHandler(seen)
    assert result.exit_code == 0, result.output
    assert result.output.endswith(f"{REPLAY_BATCH * 3} bodies queued again\n")
    assert seen.lines == [
        f"queueing bodies again: {n * REPLAY_BATCH} of {REPLAY_BATCH * 3}" for n in (1, 2, 3)
    ]
    assert set(_states(database).values()) == {BodyState.PENDING}
    database.engine.dispose()
