"""Retention on a real database: a prune deletes old processed bodies and changes nothing else."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from emailhook import create_app
from emailhook.adapters.db.engine import Database, open_database
from emailhook.adapters.db.models import EmailCallback, EventPrune, InboxBody
from emailhook.adapters.inbox import bodies as inbox
from emailhook.adapters.inbox.retention import Pruned
from emailhook.adapters.reads import dashboard as dashboard_queries
from emailhook.adapters.reads.queries import CallbackFilter
from emailhook.composition.commands import operations
from emailhook.composition.pulls import retention
from emailhook.composition.worker import worker_services
from emailhook.domain.inbox import BodyState
from emailhook.entrypoints.cli.main import main
from emailhook.entrypoints.worker.background import start_periodic
from emailhook.service.errors import BodyNotFoundError
from emailhook.service.receive.intake import SessionWriter
from emailhook.service.receive.processing import Processor
from emailhook.service.receive.retention import Retention
from emailhook.settings import Settings
from support.policies import new_intake, retry, soft_bounces

#: every table the worker derives from bodies, and the events themselves
DERIVED = [
    "email_callback",
    "contact_email_state",
    "contact_email_count",
    "suppression",
    "event_rollup",
    "platform_event",
    "suppression_evidence",
    "suppression_lift",
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


def processor(db: Database, at: datetime | None = None) -> Processor:
    """A processor whose clock says ``at`` (default: now): bodies processed then."""
    return Processor(
        db.sessions, retry(), lambda: at or datetime.now(UTC), soft_bounces=soft_bounces()
    )


def bodies(db: Database) -> dict[int, str]:
    with db.sessions() as session:
        return dict(session.execute(select(InboxBody.id, InboxBody.state)).all())


def test_prune_deletes_old_done_bodies_in_batches_and_leaves_derived_state_byte_for_byte(
    database: Database, seed_bodies: dict[str, bytes], tmp_path: Path
) -> None:
    intake = new_intake(SessionWriter(database.sessions))
    ids = [intake.accept(body).body_id for body in seed_bodies.values()]
    old_processing = datetime(2026, 1, 1, tzinfo=UTC)
    processor(database, old_processing).process(ids[:6])
    processor(database).process(ids[6:7])  # processed now: kept
    unrecognized = intake.accept(b'{"hello": "operator"}').body_id
    processor(database, old_processing).process([unrecognized])
    dead = intake.accept(seed_bodies["opened"]).body_id
    with database.sessions.begin() as session:
        inbox.mark_dead(session, [dead], error="test", now=old_processing)
    before = dump(database)
    assert before["email_callback"]

    pruned: list[int] = []
    retention = Retention(
        database.sessions,
        30,
        batch=4,
        clock=lambda: old_processing + timedelta(days=31),
        on_pruned=pruned.append,
    )
    cutoff = retention.cutoff()
    assert cutoff == old_processing + timedelta(days=1)
    assert retention.prunable(cutoff) == 6
    done = retention.prune()

    assert (done.bodies, done.batches) == (6, 2)
    assert pruned == [6]
    assert dump(database) == before
    left = bodies(database)
    assert sorted(left) == sorted([*ids[6:], unrecognized, dead])
    assert left[ids[7]] == BodyState.PENDING
    assert left[dead] == BodyState.DEAD
    assert left[unrecognized] == BodyState.UNRECOGNIZED
    assert retention.prune() == Pruned(0, 0)
    assert pruned == [6]  # nothing deleted, nothing counted

    # A pruned body is refused by name, and nothing else of the request is queued.
    ops = operations(Settings(data_dir=tmp_path), database)
    with pytest.raises(BodyNotFoundError, match=f"no body {ids[0]}: pruned past the retention"):
        ops.replay([ids[0], dead])
    with pytest.raises(BodyNotFoundError):
        ops.replay_failed(ids[0])
    assert bodies(database)[dead] == BodyState.DEAD


def test_cli_prunes_past_the_retention_and_refuses_to_replay_a_pruned_body(
    tmp_path: Path, seed_bodies: dict[str, bytes], monkeypatch: Any
) -> None:
    monkeypatch.setenv("EMAILHOOK_DATA_DIR", str(tmp_path))
    db = open_database(Settings(data_dir=tmp_path), lock_timeout_seconds=2)
    body_id = new_intake(SessionWriter(db.sessions)).accept(seed_bodies["delivered"]).body_id
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    processor(db, long_ago).process([body_id])
    runner = CliRunner()

    monkeypatch.setenv("EMAILHOOK_INBOX_RETENTION_DAYS", "")  # keep for ever
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


def test_the_worker_prunes_on_its_interval(tmp_path: Path, seed_bodies: dict[str, bytes]) -> None:
    settings = Settings(data_dir=tmp_path, inbox_retention_days=30, prune_interval_minutes=0.005)
    db = open_database(settings, lock_timeout_seconds=2)
    old = new_intake(SessionWriter(db.sessions)).accept(seed_bodies["delivered"]).body_id
    processor(db, datetime(2020, 1, 1, tzinfo=UTC)).process([old])
    recent = new_intake(SessionWriter(db.sessions)).accept(seed_bodies["opened"]).body_id
    processor(db, datetime.now(UTC)).process([recent])
    stop = threading.Event()
    threads = start_periodic(worker_services(settings), stop)
    try:
        assert [t.name for t in threads] == ["emailhook-prune"]
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and old in bodies(db):
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
    assert old not in bodies(db)  # processed in 2020: past the retention
    assert recent in bodies(db)
    db.engine.dispose()


def test_failed_bodies_go_after_their_own_retention_and_processed_ones_after_theirs(
    tmp_path: Path, seed_bodies: dict[str, bytes]
) -> None:
    settings = Settings(data_dir=tmp_path, inbox_retention_days=7, failed_body_retention_days=30)
    db = open_database(settings, lock_timeout_seconds=2)
    writer = new_intake(SessionWriter(db.sessions), clock=lambda: datetime(2020, 1, 1, tzinfo=UTC))
    unknown_old = writer.accept(b'{"nothing": "known"}').body_id  # unrecognized, from 2020
    fresh = new_intake(SessionWriter(db.sessions))
    unknown_new = fresh.accept(b'{"nothing": "known either"}').body_id  # unrecognized, today
    done = fresh.accept(seed_bodies["opened"]).body_id
    processor(db).process([done])  # processed now: within 7 days
    advanced: list[int] = []
    pruning = retention(settings, db)
    assert pruning is not None
    pruned = pruning.prune(on_batch=advanced.append)
    assert pruned.bodies == sum(advanced) == 1
    assert set(bodies(db)) == {unknown_new, done}
    assert unknown_old not in bodies(db)
    db.engine.dispose()


def raw_rests(db: Database) -> dict[int, Any]:
    with db.sessions() as session:
        return dict(session.execute(select(EmailCallback.id, EmailCallback.raw_rest)).all())


def test_raw_rests_of_old_events_are_dropped_in_batches_and_every_column_stays(
    database: Database, seed_bodies: dict[str, bytes]
) -> None:
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    old = new_intake(SessionWriter(database.sessions), clock=lambda: long_ago)
    old_ids = [old.accept(body).body_id for body in seed_bodies.values()]
    recent = new_intake(SessionWriter(database.sessions)).accept(seed_bodies["opened"]).body_id
    processor(database).process([recent])  # first: its event is stored as received now
    processor(database).process(old_ids)
    with database.sessions() as session:
        page, _ = dashboard_queries.latest_events(
            session, CallbackFilter(), limit=1000, before_id=None
        )
    kept = {item.event.id: item.event for item in page}
    before = {table: rows for table, rows in dump(database).items() if table != "email_callback"}
    with database.engine.connect() as conn:
        columns = [c.name for c in EmailCallback.__table__.columns if c.name != "raw_rest"]
        listed = ", ".join(columns)
        events_before = sorted(conn.exec_driver_sql(f"SELECT {listed} FROM email_callback"))
    with database.sessions() as session:
        received = session.execute(select(EmailCallback.id, EmailCallback.data_recebimento))
        received_recently = {i for i, when in received if when > long_ago + timedelta(days=1)}
    old_events = len(kept) - len(received_recently)
    assert old_events > 4
    assert received_recently

    dropped: list[int] = []
    pruning = Retention(
        database.sessions,
        7,
        batch=4,
        raw_days=30,
        clock=lambda: datetime.now(UTC),
        on_raw_pruned=dropped.append,
    )
    cutoff = pruning.raw_cutoff()
    assert cutoff is not None
    assert pruning.raw_prunable(cutoff) == old_events
    batches: list[int] = []
    assert pruning.prune_raw(on_batch=batches.append) == old_events
    assert dropped == [old_events]
    assert all(size <= 4 for size in batches)
    assert len(batches) == -(-old_events // 4)

    rests = raw_rests(database)
    assert {i for i, rest in rests.items() if rest is not None} == received_recently
    assert {table: rows for table, rows in dump(database).items() if table != "email_callback"} == (
        before
    )
    with database.engine.connect() as conn:
        assert sorted(conn.exec_driver_sql(f"SELECT {listed} FROM email_callback")) == (
            events_before
        )
    # The API's fields and the dashboard's raw event still answer for a stripped event.
    with database.sessions() as session:
        page, _ = dashboard_queries.latest_events(
            session, CallbackFilter(), limit=1000, before_id=None
        )
    assert {item.event.id: item.event for item in page} == kept
    for item in page:
        assert isinstance(item.raw, dict)
        if item.event.id not in received_recently:
            assert item.raw  # what the columns give back
    assert pruning.prune_raw() == 0
    assert dropped == [old_events]


def test_cli_drops_raw_rests_past_their_retention_and_counts_them_on_a_dry_run(
    tmp_path: Path, seed_bodies: dict[str, bytes], monkeypatch: Any
) -> None:
    monkeypatch.setenv("EMAILHOOK_DATA_DIR", str(tmp_path))
    db = open_database(Settings(data_dir=tmp_path), lock_timeout_seconds=2)
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    intake = new_intake(SessionWriter(db.sessions), clock=lambda: long_ago)
    processor(db).process([intake.accept(seed_bodies["delivered"]).body_id])
    events = len(raw_rests(db))
    runner = CliRunner()
    monkeypatch.setenv("EMAILHOOK_INBOX_RETENTION_DAYS", "30")
    monkeypatch.setenv("EMAILHOOK_RAW_EVENT_RETENTION_DAYS", "")  # kept for ever
    assert "raw events" not in runner.invoke(main, ["prune", "--dry-run"]).output

    monkeypatch.setenv("EMAILHOOK_RAW_EVENT_RETENTION_DAYS", "90")
    dry = runner.invoke(main, ["prune", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"{events} raw events received before" in dry.output
    assert all(rest is not None for rest in raw_rests(db).values())
    done = runner.invoke(main, ["prune"])
    assert done.exit_code == 0, done.output
    assert f"{events} raw events received before" in done.output
    assert all(rest is None for rest in raw_rests(db).values())
    # The query API and the dashboard still answer for every stripped event.
    client = create_app(Settings(data_dir=tmp_path)).test_client()
    listed = client.get("/email-callbacks")
    assert listed.status_code == 200
    assert len(listed.json["items"]) == events  # type: ignore[index]
    shown = client.get("/dashboard/events")
    assert shown.status_code == 200
    assert shown.text.count('class="event"') == events
    assert "<details><summary>raw event</summary>" in shown.text
    db.engine.dispose()


def test_raw_and_event_retentions_apply_with_the_bodies_kept_for_ever(
    tmp_path: Path, seed_bodies: dict[str, bytes], monkeypatch: Any
) -> None:
    monkeypatch.setenv("EMAILHOOK_DATA_DIR", str(tmp_path))
    db = open_database(Settings(data_dir=tmp_path), lock_timeout_seconds=2)
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    intake = new_intake(SessionWriter(db.sessions), clock=lambda: long_ago)
    body_id = intake.accept(seed_bodies["delivered"]).body_id
    processor(db, long_ago).process([body_id])
    events = len(raw_rests(db))
    monkeypatch.setenv("EMAILHOOK_INBOX_RETENTION_DAYS", "")  # bodies kept for ever
    monkeypatch.setenv("EMAILHOOK_RAW_EVENT_RETENTION_DAYS", "90")
    runner = CliRunner()

    dry = runner.invoke(main, ["prune", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert dry.output == f"{events} raw events received before {_cutoff_in(dry.output)}\n"
    done = runner.invoke(main, ["prune"])
    assert done.exit_code == 0, done.output
    assert "bodies" not in done.output
    assert all(rest is None for rest in raw_rests(db).values())
    assert body_id in bodies(db)  # the body stays: no body retention is set

    # the worker's periodic prune runs the raw retention too
    settings = Settings(data_dir=tmp_path, inbox_retention_days=None, event_retention_days=90)
    pruning = retention(settings, db)
    assert pruning is not None
    pruning.run()
    assert raw_rests(db) == {}  # every event received in 2020 is gone
    assert body_id in bodies(db)
    nothing = Settings(data_dir=tmp_path, inbox_retention_days=None, raw_event_retention_days=None)
    assert retention(nothing, db) is None
    db.engine.dispose()


def _cutoff_in(output: str) -> str:
    return output.split(" received before ", 1)[1].strip()


def test_old_events_are_deleted_in_batches_and_derived_state_stays_byte_for_byte(
    database: Database, seed_bodies: dict[str, bytes]
) -> None:
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    old = new_intake(SessionWriter(database.sessions), clock=lambda: long_ago)
    recent = new_intake(SessionWriter(database.sessions)).accept(seed_bodies["opened"]).body_id
    processor(database).process([recent])
    processor(database).process([old.accept(body).body_id for body in seed_bodies.values()])
    kept = set(raw_rests(database))
    derived = {table: rows for table, rows in dump(database).items() if table != "email_callback"}
    with database.sessions() as session:
        received = session.execute(select(EmailCallback.id, EmailCallback.data_recebimento))
        recent_ids = {i for i, when in received if when > long_ago + timedelta(days=1)}
    old_events = len(kept - recent_ids)
    assert old_events > 4

    deleted: list[int] = []
    now = datetime.now(UTC)
    pruning = Retention(
        database.sessions,
        7,
        batch=4,
        event_days=30,
        clock=lambda: now,
        on_events_pruned=deleted.append,
    )
    cutoff = pruning.event_cutoff()
    assert cutoff == now - timedelta(days=30)
    assert pruning.events_prunable(cutoff) == old_events
    batches: list[int] = []
    assert pruning.prune_events(on_batch=batches.append) == old_events
    assert batches == [4] * (old_events // 4) + ([old_events % 4] if old_events % 4 else [])
    assert deleted == [old_events]
    assert set(raw_rests(database)) == recent_ids
    after = {table: rows for table, rows in dump(database).items() if table != "email_callback"}
    assert after == derived
    with database.sessions() as session:
        prunes = session.execute(
            select(EventPrune.received_before, EventPrune.events, EventPrune.ran_at)
        ).all()
    assert prunes == [(cutoff, old_events, now)]
    assert pruning.prune_events() == 0
    with database.sessions() as session:
        assert session.execute(select(func.count()).select_from(EventPrune)).scalar_one() == 1


def test_state_rebuild_refuses_after_an_event_prune_unless_forced(
    tmp_path: Path, seed_bodies: dict[str, bytes], monkeypatch: Any
) -> None:
    monkeypatch.setenv("EMAILHOOK_DATA_DIR", str(tmp_path))
    db = open_database(Settings(data_dir=tmp_path), lock_timeout_seconds=2)
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    intake = new_intake(SessionWriter(db.sessions), clock=lambda: long_ago)
    processor(db).process([intake.accept(seed_bodies["delivered"]).body_id])
    processor(db).process(
        [new_intake(SessionWriter(db.sessions)).accept(seed_bodies["opened"]).body_id]
    )
    events = len(raw_rests(db))
    runner = CliRunner()
    assert runner.invoke(main, ["state", "rebuild"]).exit_code == 0  # nothing pruned yet

    monkeypatch.setenv("EMAILHOOK_EVENT_RETENTION_DAYS", "90")
    dry = runner.invoke(main, ["prune", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "1 events received before" in dry.output
    assert len(raw_rests(db)) == events
    done = runner.invoke(main, ["prune"])
    assert done.exit_code == 0, done.output
    assert "1 events received before" in done.output
    assert len(raw_rests(db)) == events - 1
    derived = dump(db)

    refused = runner.invoke(main, ["state", "rebuild"])
    assert refused.exit_code != 0
    assert "were pruned" in refused.output
    assert "--force" in refused.output
    assert dump(db) == derived  # refused: nothing rebuilt
    forced = runner.invoke(main, ["state", "rebuild", "--force"])
    assert forced.exit_code == 0, forced.output
    assert "rebuilt from" in forced.output
    assert dump(db) != derived  # the pruned event's history is gone from the derived state
    db.engine.dispose()
