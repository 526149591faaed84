"""Reconciliation wired to the database: read the window after the watermark, store what the
webhooks lost through the same pipeline as a webhook body, record the run, move the watermark.

Provenance: each page's new events are kept as a synthetic inbox body (shape
``reconciliation``, request id ``reconcile:<run>:<page>``) holding them as the webhook's
reports would have been (``infobip.logs.as_report``, with the callbackData of another stored
event of the same message), and that body is processed by the ordinary :class:`Processor`. So
an event stored from a log has an inbox body like every other (``inbox_id`` stays what it
means, replay and ``inbox show`` work on it), is stored exactly once by the same unique key as
its webhook report, and moves contact state, suppressions and the rollup the same way. A page
whose events are all known adds no body.

A run that fails (the API, or a crash) leaves the watermark where it was and its run row
uncompleted; the next run reads the same window again and finds what this one stored known.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from emailhook.adapters.db.engine import dumps_json
from emailhook.adapters.inbox.bodies import add_bodies
from emailhook.adapters.infobip.api import InfobipApi
from emailhook.adapters.store import reconciliation as bookkeeping
from emailhook.domain.clock import utcnow
from emailhook.domain.events import EmailEvent
from emailhook.domain.inbox import BodyState, NewBody
from emailhook.domain.reconciliation_plan import (
    ReconcileReport,
    ReconcileWindow,
    next_watermark,
    plan_window,
)
from emailhook.providers.infobip.logs import as_report
from emailhook.service.receive.processing import Processor
from emailhook.service.receive.reconciliation import reconcile

log = logging.getLogger("emailhook.reconcile")

#: the watermark's name for Infobip's e-mail logs
WATERMARK = "infobip_email_logs"
#: the inbox's shape for the bodies reconciliation keeps (no webhook sends this)
RECONCILED_SHAPE = "reconciliation"

#: called after each page with the pages read and the events new so far (a progress line)
Progress = Callable[[int, int], None]


class Reconciler:
    """Runs reconciliation against one Infobip account and one database."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        processor: Callable[[], Processor],
        api: Callable[[], AbstractContextManager[InfobipApi]],
        clock: Callable[[], datetime] = utcnow,
        on_new_events: Callable[[int], None] = lambda _: None,
    ) -> None:
        self._sessions = sessions
        self._processor = processor
        self._api = api
        self._clock = clock
        self._on_new = on_new_events

    def run(
        self, since: timedelta | datetime | None = None, progress: Progress | None = None
    ) -> ReconcileReport:
        """Reconcile the window after the watermark (or ``since``); return the run's report.

        Raises what storing raises (the database); an API failure is in the report instead.
        """
        now = self._clock()
        with self._sessions.begin() as session:
            watermark = bookkeeping.read_watermark(session, WATERMARK)
        window = plan_window(watermark, now, since)
        if window.gap_before is not None:
            log.warning(
                "reconcile: sends from %s to %s are older than Infobip keeps: not reconciled",
                window.gap_before.isoformat(),
                window.since.isoformat(),
            )
        with self._sessions.begin() as session:
            run_id = bookkeeping.start_run(
                session,
                started_at=now,
                since=window.since,
                until=window.until,
                gap_before=window.gap_before,
            )
        store = _PageStore(self._sessions, self._processor(), run_id, self._clock)
        try:
            with self._api() as api:
                pages = api.iter_email_log_pages(window.since, window.until)
                report = reconcile(_reporting(pages, progress, store), window, store)
        except Exception as error:
            # storing failed: what was stored stays, the watermark stays, the run says why
            failed = ReconcileReport(window, events_new=store.new_total)
            failed.error = f"{type(error).__name__}: {error}"[:2000]
            self._finish(run_id, window, failed)
            raise
        if progress is not None:
            progress(report.pages, report.events_new)
        self._finish(run_id, window, report)
        return report

    def _finish(self, run_id: int, window: ReconcileWindow, report: ReconcileReport) -> None:
        now = self._clock()
        with self._sessions.begin() as session:
            if report.completed:
                mark = next_watermark(window, report.pending_sent_at)
                bookkeeping.advance_watermark(session, WATERMARK, mark, now=now)
            bookkeeping.finish_run(
                session,
                run_id,
                finished_at=now,
                pages=report.pages,
                logs_read=report.logs_read,
                events_new=report.events_new,
                events_known=report.events_known,
                skipped=report.skipped_total,
                completed=report.completed,
                error=report.error,
            )
        self._on_new(report.events_new)
        level = logging.INFO if report.completed else logging.WARNING
        log.log(
            level,
            "reconcile run %d %s: %d logs read, %d events new (missed by the webhooks),"
            " %d already known, %d skipped",
            run_id,
            "completed" if report.completed else f"stopped: {report.error}",
            report.logs_read,
            report.events_new,
            report.events_known,
            report.skipped_total,
        )


def _reporting(
    pages: Iterator[list[dict[str, Any]]], progress: Progress | None, store: _PageStore
) -> Iterator[list[dict[str, Any]]]:
    # a page is stored by the time the next one is asked for
    for done, page in enumerate(pages):
        if progress is not None and done:
            progress(done, store.new_total)
        yield page


class _PageStore:
    """Stores one page's events: known ones skipped, new ones kept as a synthetic body."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        processor: Processor,
        run_id: int,
        clock: Callable[[], datetime],
    ) -> None:
        self._sessions = sessions
        self._processor = processor
        self._run_id = run_id
        self._clock = clock
        self._page = 0
        self.new_total = 0

    def __call__(self, events: Sequence[EmailEvent]) -> int:
        self._page += 1
        with self._sessions.begin() as session:
            known = bookkeeping.known_keys(session, (e.event_key for e in events))
            new = [e for e in events if e.event_key not in known]
            if not new:
                return 0
            callback = bookkeeping.callback_data_of(
                session, [e.message_id for e in new if e.message_id]
            )
            body = dumps_json({"results": [_report_of(e, callback) for e in new]}).encode()
            [body_id] = add_bodies(
                session,
                [
                    NewBody(
                        body=body,
                        shape=RECONCILED_SHAPE,
                        event_count=len(new),
                        state=BodyState.PENDING,
                        received_at=self._clock(),
                        request_id=f"reconcile:{self._run_id}:{self._page}",
                    )
                ],
            )
        outcome = self._processor.process([body_id])
        if outcome.failed:
            raise RuntimeError(f"reconciled body {body_id} could not be stored; see its error")
        self.new_total += outcome.stored
        return outcome.stored


def _report_of(event: EmailEvent, callback: dict[str, str]) -> dict[str, Any]:
    report = as_report(event.raw)
    found = callback.get(event.message_id or "")
    if found is not None:
        report["callbackData"] = found
    return report


__all__ = ["RECONCILED_SHAPE", "WATERMARK", "Reconciler"]
