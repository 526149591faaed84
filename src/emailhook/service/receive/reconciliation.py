"""One reconciliation run: read a window of Infobip's e-mail logs, store the final reports the
webhook never delivered, and say what was found.

Storage comes in as a function (one call, one transaction, per page of logs) so that this
module needs no database and a run that fails half-way keeps the pages it stored: the next
run reads them again and finds their events known. The caller moves the watermark
(``reconciliation_plan.next_watermark``) only when the report says ``completed``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from emailhook.adapters.infobip.answers import InfobipApiError
from emailhook.domain.events import EmailEvent
from emailhook.domain.instants import parse_instant
from emailhook.domain.reconciliation_plan import ReconcileReport, ReconcileWindow
from emailhook.providers.infobip.logs import FINAL_GROUPS, LogSkip, log_event, status_group

log = logging.getLogger(__name__)

#: stores a page's events, each at most once (by ``event_key``); returns how many were new
StoreEvents = Callable[[Sequence[EmailEvent]], int]


def reconcile(
    pages: Iterable[list[dict[str, Any]]], window: ReconcileWindow, store: StoreEvents
) -> ReconcileReport:
    """Read every page of ``window``'s logs into ``store``; return the run's report.

    An API failure ends the run with ``completed`` False and the error in the report (the
    pages stored so far stay stored); a storage failure is raised to the caller.
    """
    report = ReconcileReport(window)
    try:
        for page in pages:
            report.pages += 1
            events: list[EmailEvent] = []
            for item in page:
                event = _read(item, report)
                if event is not None:
                    events.append(event)
            new = store(events) if events else 0
            report.events_new += new
            report.events_known += len(events) - new
    except InfobipApiError as error:
        report.error = str(error)
        log.warning("reconcile stopped after %d pages: %s", report.pages, error)
        return report
    report.completed = True
    return report


def _read(item: dict[str, Any], report: ReconcileReport) -> EmailEvent | None:
    report.logs_read += 1
    result = log_event(item)
    if isinstance(result, EmailEvent):
        return result
    report.skip(result.reason)
    _note_pending(item, result, report)
    return None


def _note_pending(item: object, skip: LogSkip, report: ReconcileReport) -> None:
    # A message not final yet holds the watermark back, so a later run reads its outcome. So
    # does an item that could not be read (no messageId, not an object): a later run reads it
    # again, and ``next_watermark`` bounds how long it can hold the watermark back.
    sent_at = parse_instant(item.get("sentAt")) if isinstance(item, dict) else None
    unreadable = skip.message_id is None
    if not unreadable and isinstance(item, dict) and status_group(item) in FINAL_GROUPS:
        return
    if sent_at is None and unreadable:
        sent_at = report.window.since
    if sent_at is not None:
        report.pending_sent_at.append(sent_at)
