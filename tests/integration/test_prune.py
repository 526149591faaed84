"""Retention on a real database: a prune deletes old processed bodies and changes nothing else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from sqlalchemy import func, select

from emailhook.adapters import prune
from emailhook.adapters.db.models import BodyState, InboxBody
from emailhook.adapters.intake import inbox
from emailhook.composition import Database, open_database
from emailhook.entrypoints.cli.main import main
from emailhook.service.intake import Intake, SessionWriter
from emailhook.service.processing import Processor, RetryPolicy
from emailhook.settings import Settings

#: every table the worker derives from bodies, and the events themselves
DERIVED = [
    "email_callback",
    "contact_email_state",
    "contact_email_count",
    "suppression",
    "event_rollup",
    "platform_event",
]


def dump(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the derived tables as the driver returns it, in a fixed order."""
    with db.engine.connect() as conn:
        return {
            table: sorted(
                (tuple(row) for row in conn.exec_driver_sql(f"SELECT * FROM {table}")),
                key=repr,
            )
            for table in DERIVED
        }


def bodies(db: Database) -> dict[int, str]:
    with db.sessions() as session:
        return dict(session.execute(select(InboxBody.id, InboxBody.state)).all())


def test_prune_deletes_old_done_bodies_in_batches_and_leaves_derived_state_byte_for_byte(
    database: Database, seed_bodies: dict[str, bytes]
) -> None:
    intake = Intake(SessionWriter(database.sessions))
    ids = [intake.accept(body).body_id for body in seed_bodies.values()]
    old_processing = datetime(2026, 1, 1, tzinfo=UTC)
    Processor(database.sessions, RetryPolicy(), clock=lambda: old_processing).process(ids[:6])
    Processor(database.sessions, RetryPolicy()).process(ids[6:7])  # processed now: kept
    unrecognized = intake.accept(b'{"hello": "operator"}').body_id
    Processor(database.sessions, RetryPolicy(), clock=lambda: old_processing).process(
        [unrecognized]
    )
    dead = intake.accept(seed_bodies["opened"]).body_id
    with database.sessions.begin() as session:
        inbox.mark_dead(session, [dead], error="test", now=old_processing)
    before = dump(database)
    assert before["email_callback"]

    cutoff = old_processing + timedelta(days=1)
    with database.sessions() as session:
        assert prune.prunable(session, cutoff) == 6
    done = prune.prune(database.sessions, cutoff, batch=4)

    assert (done.bodies, done.batches) == (6, 2)
    assert dump(database) == before
    left = bodies(database)
    assert sorted(left) == sorted([*ids[6:], unrecognized, dead])
    assert left[ids[7]] == BodyState.PENDING
    assert left[dead] == BodyState.DEAD
    assert left[unrecognized] == BodyState.UNRECOGNIZED
    assert prune.prune(database.sessions, cutoff) == prune.Pruned(0, 0)


def test_cli_prunes_past_the_retention_and_refuses_to_replay_a_pruned_body(
    tmp_path: Path, seed_bodies: dict[str, bytes], monkeypatch: Any
) -> None:
    monkeypatch.setenv("EMAILHOOK_DATA_DIR", str(tmp_path))
    db = open_database(Settings(data_dir=tmp_path), lock_timeout_seconds=2)
    body_id = Intake(SessionWriter(db.sessions)).accept(seed_bodies["delivered"]).body_id
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    Processor(db.sessions, RetryPolicy(), clock=lambda: long_ago).process([body_id])
    runner = CliRunner()

    unset = runner.invoke(main, ["prune"])
    assert unset.exit_code != 0
    assert "EMAILHOOK_INBOX_RETENTION_DAYS" in unset.output

    monkeypatch.setenv("EMAILHOOK_INBOX_RETENTION_DAYS", "30")
    dry = runner.invoke(main, ["prune", "--dry-run"])
    assert dry.exit_code == 0
    assert dry.output.startswith("1 bodies")
    assert runner.invoke(main, ["prune"]).output.startswith("1 bodies")
    with db.sessions() as session:
        assert session.execute(select(func.count()).select_from(InboxBody)).scalar_one() == 0

    replay = runner.invoke(main, ["inbox", "replay", str(body_id)])
    assert replay.exit_code != 0
    assert f"no body {body_id}: pruned past the retention" in replay.output
    db.engine.dispose()
