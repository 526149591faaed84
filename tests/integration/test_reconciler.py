"""Reconciliation against the local Infobip stand-in and a real database: exactly the lost
reports are stored, once, with their contact; bad answers store nothing wrong and keep the
watermark; a run cut short is completed by the next one."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from emailhook import create_app
from emailhook.adapters.db.engine import Database, open_database
from emailhook.adapters.db.models import (
    EmailCallback,
    InboxBody,
    ReconcileRun,
    ReconcileWatermark,
    SuppressedAddress,
)
from emailhook.adapters.infobip.api import InfobipApi
from emailhook.composition.worker import worker_services
from emailhook.domain.clock import utcnow
from emailhook.domain.inbox import BodyState
from emailhook.entrypoints.cli.main import main
from emailhook.entrypoints.worker.background import start_periodic
from emailhook.service.operations import Operations
from emailhook.service.receive.intake import SessionWriter
from emailhook.service.receive.processing import Processor
from emailhook.service.receive.reconciler import RECONCILED_SHAPE, WATERMARK, Reconciler
from emailhook.settings import Settings
from support.infobip_api import DOMAINS, LOGS, FakeInfobip
from support.policies import new_intake, retry, soft_bounces

SENT = utcnow().replace(microsecond=0) - timedelta(hours=2)


def log_item(n: int, group: str = "DELIVERED", error_id: int = 0) -> dict[str, Any]:
    """A ``GET /email/4/logs`` item (``SYNTH_email_v4_logs_response.json``'s fields)."""
    sent = SENT + timedelta(seconds=n)
    ids = {"DELIVERED": 3, "UNDELIVERABLE": 2, "PENDING": 1}
    return {
        "sender": "envios@example.com",
        "destination": f"person{n}@example.org",
        "bulkId": "bulk-9",
        "messageId": f"m-{n}",
        "sentAt": sent.isoformat(timespec="milliseconds"),
        "doneAt": (sent + timedelta(seconds=2)).isoformat(timespec="milliseconds"),
        "messageCount": 1,
        "status": {"groupId": ids[group], "groupName": group, "id": 5, "name": f"{group}_X"},
        "error": {
            "groupId": 0,
            "groupName": "OK",
            "id": error_id,
            "name": "E",
            "permanent": error_id == 6012,
        },
        "platform": {"entityId": "e", "applicationId": "a"},
    }


def webhook_body(log: dict[str, Any], contact: int) -> bytes:
    """The webhook's report of the same message: ``to``, ``smsCount``, callbackData."""
    report = {k: v for k, v in log.items() if k not in ("sender", "destination", "platform")}
    report.pop("messageCount")
    report.update(to=log["destination"], smsCount=1, callbackData=f'{{"qj_contact_id": {contact}}}')
    return orjson.dumps({"results": [report]})


def opened_body(message_id: str, email: str, contact: int) -> bytes:
    return orjson.dumps(
        {
            "notificationType": "OPENED",
            "eventId": f"open-{message_id}",
            "domain": "example.org",
            "recipient": email,
            "messageId": message_id,
            "sendDateTime": 1700000000000,
            "callbackData": f'{{"qj_contact_id": {contact}}}',
        }
    )


def deliver(db: Database, *bodies: bytes) -> None:
    intake = new_intake(SessionWriter(db.sessions))
    ids = [intake.accept(body).body_id for body in bodies]
    processor(db).process([i for i in ids if i is not None])


def processor(db: Database) -> Processor:
    return Processor(db.sessions, retry(), soft_bounces=soft_bounces())


@pytest.fixture
def infobip() -> Iterator[FakeInfobip]:
    with FakeInfobip() as server:
        yield server


def reconciler(db: Database, infobip: FakeInfobip, **api: Any) -> Reconciler:
    key = api.pop("api_key", infobip.api_key)
    return Reconciler(
        db.sessions,
        lambda: processor(db),
        lambda: InfobipApi(infobip.url, key, sleep=lambda _: None, **api),
    )


def rows(db: Database) -> list[EmailCallback]:
    with db.sessions() as session:
        found = list(session.execute(select(EmailCallback).order_by(EmailCallback.id)).scalars())
        session.expunge_all()
        return found


def watermark(db: Database) -> datetime | None:
    with db.sessions() as session:
        row = session.get(ReconcileWatermark, WATERMARK)
        return row.watermark if row else None


def runs(db: Database) -> list[ReconcileRun]:
    with db.sessions() as session:
        found = list(session.execute(select(ReconcileRun).order_by(ReconcileRun.id)).scalars())
        session.expunge_all()
        return found


def test_reconciling_stores_exactly_the_reports_the_webhook_missed(
    database: Database, infobip: FakeInfobip
) -> None:
    logs = [log_item(n) for n in range(5)] + [log_item(5, "UNDELIVERABLE", 6012)]
    infobip.logs = logs
    # the webhook delivered m-0, m-2 and m-4; an OPENED of the missed m-1 did arrive
    deliver(database, *(webhook_body(logs[n], 100 + n) for n in (0, 2, 4)))
    deliver(database, opened_body("m-1", "person1@example.org", 101))
    before = {r.event_key for r in rows(database)}
    new_counts: list[int] = []
    found = reconciler(database, infobip)
    found._on_new = new_counts.append  # the metric's hook

    report = found.run()
    assert report.completed, report.error
    assert (report.logs_read, report.events_new, report.events_known) == (6, 3, 3)
    assert new_counts == [3]
    stored = rows(database)
    assert len(stored) == 4 + 3
    assert len({r.event_key for r in stored}) == len(stored)
    added = [r for r in stored if r.event_key not in before]
    assert sorted(r.id_externo or "" for r in added) == ["m-1", "m-3", "m-5"]
    by_message = {r.id_externo: r for r in added}
    assert by_message["m-1"].qj_contact_id == 101  # from the OPENED of the same message
    assert by_message["m-3"].qj_contact_id is None  # nothing else of m-3 is stored
    assert by_message["m-1"].email == "person1@example.org"
    assert by_message["m-5"].status == "UNDELIVERABLE"
    with database.sessions() as session:
        # derived state moved as for a webhook report: the missed hard bounce suppresses
        assert session.get(SuppressedAddress, "person5@example.org") is not None
        [body] = session.execute(
            select(InboxBody).where(InboxBody.shape == RECONCILED_SHAPE)
        ).scalars()
        assert (body.state, body.stored_events) == (BodyState.DONE, 3)
        assert {r.inbox_id for r in added} == {body.id}
    # the body replays like a webhook body: the same events, known, the same contact
    ops = Operations(
        database, database, spool_dir=Path("/nonexistent"), soft_bounces=soft_bounces()
    )
    assert ops.replay(ids=[body.id]) == 1
    replayed = processor(database).process([body.id])
    assert (replayed.stored, replayed.duplicates) == (0, 3)
    assert watermark(database) is not None
    [run] = runs(database)
    assert (run.completed, run.logs_read, run.events_new, run.events_known) == (True, 6, 3, 3)

    # the next run starts at the watermark (less an overlap): these sends are behind it
    assert found.run().events_new == 0
    # read again on purpose: every report is known now
    again = found.run(timedelta(hours=3))
    assert (again.completed, again.events_new, again.events_known) == (True, 0, 6)
    assert len(rows(database)) == 7
    with database.sessions() as session:
        bodies = session.execute(
            select(func.count()).where(InboxBody.shape == RECONCILED_SHAPE)
        ).scalar_one()
    assert bodies == 1  # a page of known events adds no body


@pytest.mark.parametrize(
    ("fault", "status"),
    [("html", None), ("truncated", None), (None, 401), ("endless_cursor", None)],
)
def test_a_bad_answer_stores_nothing_wrong_and_keeps_the_watermark(
    database: Database, infobip: FakeInfobip, fault: Any, status: int | None
) -> None:
    infobip.logs = [log_item(n) for n in range(3)]
    if fault is not None:
        infobip.fault(LOGS, fault, times=100)
    key = "wrong-key" if status == 401 else infobip.api_key
    report = reconciler(database, infobip, api_key=key, max_pages=5).run()
    assert not report.completed
    assert report.error is not None
    expected = {"html": "HTML", "truncated": "not valid JSON", "endless_cursor": "5 pages"}
    assert (expected[fault] if fault else "401") in report.error
    assert watermark(database) is None
    [run] = runs(database)
    assert (run.completed, run.error) == (False, report.error)
    if fault == "endless_cursor":  # pages before the API failed are stored, rightly
        assert {r.id_externo for r in rows(database)} <= {"m-0", "m-1", "m-2"}
    else:
        assert rows(database) == []


def test_an_item_without_message_id_is_skipped_and_holds_the_watermark(
    database: Database, infobip: FakeInfobip
) -> None:
    infobip.logs = [log_item(n) for n in range(3)]
    infobip.fault(LOGS, "missing_message_id")
    report = reconciler(database, infobip).run()
    assert report.completed
    assert dict(report.skipped) == {"log item has no messageId": 1}
    assert sorted(r.id_externo or "" for r in rows(database)) == ["m-1", "m-2"]
    held = watermark(database)
    assert held is not None
    assert held <= SENT  # held at the unreadable item's send: the next run reads it again
    again = reconciler(database, infobip).run()  # from the held watermark, less the overlap
    assert (again.events_new, again.events_known) == (1, 2)


def test_a_run_that_crashes_mid_way_is_completed_by_the_next_without_a_gap(
    database: Database, infobip: FakeInfobip
) -> None:
    infobip.logs = [log_item(n) for n in range(2500)]  # three pages of 1000

    def crash_after_the_first_page(pages: int, new: int) -> None:
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError, match="killed"):
        reconciler(database, infobip).run(progress=crash_after_the_first_page)
    assert len(rows(database)) == 1000
    assert watermark(database) is None
    [crashed] = runs(database)
    assert not crashed.completed
    assert "killed" in (crashed.error or "")

    report = reconciler(database, infobip).run()
    assert (report.completed, report.events_new, report.events_known) == (True, 1500, 1000)
    assert len(rows(database)) == 2500
    assert watermark(database) is not None


def test_the_cli_reconciles_with_since_and_prints_the_report(
    tmp_path: Path, infobip: FakeInfobip
) -> None:
    infobip.logs = [log_item(n) for n in range(3)]
    env = {
        "EMAILHOOK_DATA_DIR": str(tmp_path),
        "EMAILHOOK_INFOBIP_BASE_URL": infobip.url,
        "EMAILHOOK_INFOBIP_API_KEY": infobip.api_key,
    }
    runner = CliRunner()
    done = runner.invoke(main, ["reconcile", "--since", "3h", "--json"], env=env)
    assert done.exit_code == 0, done.output
    report = orjson.loads(done.output.strip().splitlines()[-1])
    assert (report["completed"], report["events_new"]) == (True, 3)
    assert infobip.queries[LOGS][0]["sentSince"].endswith("+0000")
    # the dashboard's pipeline page shows the run
    page = create_app(Settings(data_dir=tmp_path)).test_client().get("/dashboard/pipeline")
    html = page.get_data(as_text=True)
    assert 'data-run="1"' in html
    assert 'data-new="3"' in html
    bad = runner.invoke(main, ["reconcile", "--since", "soon"], env=env)
    assert bad.exit_code == 2
    assert "not a duration" in bad.output
    off = runner.invoke(main, ["reconcile"], env={"EMAILHOOK_DATA_DIR": str(tmp_path)})
    assert off.exit_code == 1
    assert "EMAILHOOK_INFOBIP_API_KEY" in off.output
    assert datetime.now(UTC) > SENT


def test_the_worker_reconciles_and_syncs_on_its_intervals(
    tmp_path: Path, infobip: FakeInfobip
) -> None:
    infobip.logs = [log_item(n) for n in range(3)]
    settings = Settings(
        data_dir=tmp_path,
        infobip_base_url=infobip.url,
        infobip_api_key=infobip.api_key,
        reconcile_interval_minutes=0.005,  # 0.3 s
        suppression_sync_interval_minutes=0.005,
    )
    stop = threading.Event()
    threads = start_periodic(worker_services(settings), stop)
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and (
            infobip.requests[LOGS] < 2 or infobip.requests[DOMAINS] < 1
        ):
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
    assert infobip.requests[LOGS] >= 2  # it ran, and ran again
    assert infobip.requests[DOMAINS] >= 1
    db = open_database(settings, lock_timeout_seconds=5)
    try:
        assert len(rows(db)) == 3
        assert all(r.completed for r in runs(db) if r.finished_at is not None)
    finally:
        db.engine.dispose()
