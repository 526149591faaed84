"""A reconciliation run against the local Infobip stand-in: only what the webhook lost is new,
a second run finds everything known, and a run cut short resumes without a gap."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from emailhook.adapters.infobip.api import InfobipApi
from emailhook.domain.events import EmailEvent
from emailhook.domain.reconciliation_plan import next_watermark, plan_window
from emailhook.providers.infobip.parsing import parse_body
from emailhook.service.receive.reconciliation import reconcile
from support.infobip_api import LOGS, FakeInfobip

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


class KeyedStore:
    """Events by key, each stored once: what ``email_callback``'s unique key does."""

    def __init__(self) -> None:
        self.events: dict[str, EmailEvent] = {}

    def __call__(self, events: Sequence[EmailEvent]) -> int:
        new = 0
        for event in events:
            if event.event_key not in self.events:
                self.events[event.event_key] = event
                new += 1
        return new


def log_item(n: int, group: str = "DELIVERED") -> dict[str, Any]:
    sent = NOW - timedelta(hours=1) + timedelta(seconds=n)
    return {
        "sender": "envios@example.com",
        "destination": f"person{n}@example.org",
        "messageId": f"m-{n}",
        "sentAt": sent.isoformat(timespec="milliseconds"),
        "doneAt": (sent + timedelta(seconds=2)).isoformat(timespec="milliseconds"),
        "messageCount": 1,
        "status": {"groupId": 3, "groupName": group, "id": 5, "name": "DELIVERED_TO_HANDSET"},
        "error": {"groupId": 0, "groupName": "OK", "id": 0, "name": "NO_ERROR"},
    }


def webhook_report(log: dict[str, Any]) -> dict[str, Any]:
    report = {k: v for k, v in log.items() if k not in ("sender", "destination")}
    return {**report, "to": log["destination"], "callbackData": '{"qj_contact_id": 9}'}


@pytest.fixture
def infobip() -> Iterator[FakeInfobip]:
    with FakeInfobip() as server:
        yield server


@pytest.fixture
def api(infobip: FakeInfobip) -> Iterator[InfobipApi]:
    with InfobipApi(infobip.url, infobip.api_key, sleep=lambda _: None) as client:
        yield client


def test_only_what_the_webhook_lost_is_new(infobip: FakeInfobip, api: InfobipApi) -> None:
    infobip.logs = [log_item(0), log_item(1), log_item(2), log_item(3, "PENDING"), log_item(4)]
    infobip.fault(LOGS, "missing_message_id")  # the first item of the page: m-0's log
    store = KeyedStore()
    # the webhook delivered m-1's report; m-0, m-2 and m-4 were lost
    store(parse_body({"results": [webhook_report(log_item(1))]}).events)
    window = plan_window(None, NOW)
    report = reconcile(api.iter_email_log_pages(window.since, window.until), window, store)
    assert report.completed
    assert (report.pages, report.logs_read, report.events_new, report.events_known) == (1, 5, 2, 1)
    assert dict(report.skipped) == {
        "log item has no messageId": 1,
        "status PENDING is not final": 1,
    }
    # the unreadable item (m-0) and the pending send hold the watermark back, so the next run
    # reads them again
    assert report.pending_sent_at == [
        NOW - timedelta(hours=1),
        NOW - timedelta(hours=1) + timedelta(seconds=3),
    ]
    assert next_watermark(window, report.pending_sent_at) == report.pending_sent_at[0]
    assert sorted(e.message_id or "" for e in store.events.values()) == ["m-1", "m-2", "m-4"]

    again = reconcile(api.iter_email_log_pages(window.since, window.until), window, store)
    # m-0 has its messageId this time: new; the others are known
    assert (again.events_new, again.events_known) == (1, 3)


def test_a_run_cut_short_keeps_its_pages_and_the_next_one_fills_the_rest(
    infobip: FakeInfobip, api: InfobipApi
) -> None:
    infobip.logs = [log_item(n) for n in range(2500)]
    store = KeyedStore()
    window = plan_window(None, NOW)
    pages = api.iter_email_log_pages(window.since, window.until)
    infobip_pages = iter(pages)
    first = next(infobip_pages)
    infobip.api_key = "rotated"  # page two is refused: 401

    def resumed() -> Iterator[list[dict[str, Any]]]:
        yield first
        yield from infobip_pages

    cut = reconcile(resumed(), window, store)
    assert not cut.completed
    assert cut.error is not None
    assert "401" in cut.error
    assert (cut.pages, cut.events_new) == (1, 1000)

    with InfobipApi(infobip.url, "rotated", sleep=lambda _: None) as fixed:
        # the watermark did not move: the next run reads the same window
        rerun = reconcile(fixed.iter_email_log_pages(window.since, window.until), window, store)
    assert rerun.completed
    assert (rerun.events_new, rerun.events_known) == (1500, 1000)
    assert len(store.events) == 2500
