"""The dashboard in headless Chromium: data posted through POST /email, read off the pages."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from support.dashboard_data import status_counts
from support.message_oracle import (
    event_type_counts,
    expected_rates,
    messages_by_provider,
    total,
)
from support.poison import install_poison_trigger, poison_body, remove_poison_trigger
from support.stack import Stack, wait_until

from .conftest import POSTED_EVENTS, posted_bodies

# one worker runs them all against the module's one stack (pytest-xdist's loadgroup)
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

#: every bar of the chart: its status and count (zero bars carry no label)
CHART_BARS = """
() => Array.from(document.querySelectorAll('#status-chart svg g.bar')).map(bar => [
  bar.querySelector('desc.label')?.textContent ?? null,
  Number(bar.querySelector('desc.value')?.textContent ?? 0),
  bar.querySelector('desc.x_label')?.textContent ?? null,
])
"""


def chart_counts(page: Any) -> tuple[Counter[str], set[str]]:
    """Sum the chart's bars by status; and the buckets that have any."""
    counts: Counter[str] = Counter()
    buckets = set()
    for label, value, bucket in page.evaluate(CHART_BARS):
        if label:
            counts[label] += value
            buckets.add(bucket)
    return counts, buckets


def table_counts(page: Any) -> Counter[str]:
    rows = page.locator("#totals tbody tr[data-event-type]")
    return Counter(
        {
            rows.nth(i).get_attribute("data-event-type"): int(
                rows.nth(i).locator("td.num").inner_text()
            )
            for i in range(rows.count())
        }
    )


def test_overview_chart_shows_the_posted_counts_in_each_range_and_bucket(
    page: Any, stack: Stack, seed_bodies: dict[str, bytes], screenshot_dir: Path
) -> None:
    assert sum(status_counts(posted_bodies(seed_bodies)).values()) == POSTED_EVENTS
    posted = event_type_counts(stack.engine)  # the chart's words: event types, not statuses
    response = page.goto("/?range=24h")
    assert response.status == 200
    counts, buckets = chart_counts(page)
    assert counts == posted
    assert len(buckets) in (1, 2)  # everything arrived within this hour (or across its turn)
    assert next(iter(buckets)).endswith(":00")  # hour buckets: "MM-DD HH:00"
    assert table_counts(page) == posted
    rates = expected_rates(total(messages_by_provider(stack.engine)))  # of messages
    for name in ("delivery", "complaint"):
        shown = f"{rates[name] * 100:.1f} %" if rates[name] is not None else "\u2013"
        assert page.locator(f'[data-rate="{name}"] .value').inner_text() == shown
    assert page.locator("#open-banner").count() == 0
    screenshot_dir.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(screenshot_dir / "dashboard-overview.png"), full_page=True)

    page.get_by_role("link", name="daily").click()
    page.wait_for_url("**bucket=day**")
    counts, buckets = chart_counts(page)
    assert counts == posted
    assert all(len(bucket) == 10 for bucket in buckets)  # "YYYY-MM-DD"
    page.get_by_role("link", name="last 30d").click()
    page.wait_for_url("**range=30d**")
    assert chart_counts(page)[0] == posted
    page.fill('input[name="since"]', "2001-01-01T00:00")
    page.fill('input[name="until"]', "2001-01-03T00:00")
    page.select_option('select[name="bucket"]', "hour")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**since=2001**")
    assert chart_counts(page)[0] == Counter()
    assert "no events in this range" in page.locator("#totals").inner_text()


def test_events_filter_by_status_and_by_address_and_expand_a_raw_event(page: Any) -> None:
    page.goto("/dashboard/events")
    assert page.locator("tbody.event").count() == POSTED_EVENTS  # fewer than a page
    page.fill('input[name="status"]', "COMPLAINED")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**status=COMPLAINED**")
    assert page.locator("tbody.event").count() == 1
    assert page.locator("tbody.event td.email").inner_text() == "john.doe@some-domain.com"

    page.fill('input[name="status"]', "")
    page.fill('input[name="email"]', "Ana@Example.com")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**email=Ana**")
    events = page.locator("tbody.event")
    assert events.count() == 3  # delivered, opened, clicked
    assert {events.nth(i).get_attribute("data-status") for i in range(3)} == {
        "DELIVERED",
        "OPENED",
        "CLICKED",
    }
    raw = events.first.locator("details pre")
    assert not raw.is_visible()
    events.first.locator("summary").click()
    assert raw.is_visible()
    assert '"recipient": "ana@example.com"' in raw.inner_text()


def test_contact_search_by_id_shows_the_timeline_and_derived_status(page: Any) -> None:
    page.goto("/dashboard/contact")
    page.fill('input[name="q"]', "3")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**q=3**")
    state = page.locator('#states tr[data-email="joao.madero@quite.com.br"]')
    assert state.locator(".derived-status").inner_text() == "HARD_BOUNCE"
    timeline = page.locator("#timeline li")
    assert timeline.count() == 6
    statuses = [timeline.nth(i).get_attribute("data-status") for i in range(6)]
    assert Counter(statuses)["UNDELIVERABLE"] == 1

    page.fill('input[name="q"]', "gil@example.com")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**q=gil**")
    assert page.locator("#states .derived-status").inner_text() == "HARD_BOUNCE"
    assert page.locator("#timeline li").count() == 1


def test_suppression_csv_downloads_from_the_page(page: Any, tmp_path: Path) -> None:
    expected = {
        "joao.madero@quite.com.br": "hard_bounce",
        "john.doe@some-domain.com": "complaint",
        "paulorobetovlopes@hotmail.com": "provider_suppression",
        "duda@example.com": "hard_bounce",
        "gil@example.com": "hard_bounce",
    }
    page.goto("/dashboard/suppressions")
    listed = page.locator("#suppressions tbody tr[data-email]")
    assert {listed.nth(i).get_attribute("data-email") for i in range(listed.count())} == set(
        expected
    )
    with page.expect_download() as download_info:
        page.locator("#csv").click()
    download = download_info.value
    assert download.suggested_filename == "suppressions.csv"
    saved = tmp_path / "suppressions.csv"
    download.save_as(saved)
    rows = list(csv.DictReader(io.StringIO(saved.read_text())))
    assert {row["email"]: row["reason"] for row in rows} == expected


def test_a_dead_body_is_replayed_from_the_pipeline_page(page: Any, stack: Stack) -> None:
    install_poison_trigger(stack.engine)
    try:
        response = stack.post(poison_body("browser"), headers={"X-Request-Id": "poison-1"})
        assert response.status_code == 200
        dead = "SELECT id FROM inbox_body WHERE request_id = 'poison-1' AND state = 'dead'"
        wait_until(lambda: stack.scalar(dead) is not None, 30, "the poison body dead-lettered")
        body_id = stack.scalar(dead)
        page.goto("/dashboard/pipeline")
        row = page.locator(f'#dead tr[data-body="{body_id}"]')
        assert "poisoned row" in row.locator("td.error").inner_text()
        assert page.locator('[data-count="dead"] .value').inner_text() == "1"
    finally:
        remove_poison_trigger(stack.engine)

    # The same POST without the dashboard as its origin is refused, credentials or not.
    forged = page.request.post(f"/dashboard/replay/{body_id}", max_redirects=0)
    assert forged.status == 403
    row.get_by_role("button", name="Replay").click()
    page.wait_for_url(f"**replayed={body_id}")
    assert f"Body {body_id} was queued again" in page.locator(".flash").inner_text()
    stack.wait_for_events(POSTED_EVENTS + 1)
    page.reload()
    assert page.locator('[data-count="dead"] .value').inner_text() == "0"
    assert page.locator(f'#dead tr[data-body="{body_id}"]').count() == 0


def test_without_credentials_every_page_is_401(browser: Any, stack: Stack) -> None:
    context = browser.new_context(base_url=stack.base_url)
    try:
        # A navigation would stop at Chromium's login prompt (headless: an error page):
        # the browser's own request context shows the answer itself.
        for url in ("/", "/dashboard/events", "/dashboard/pipeline"):
            response = context.request.get(url)
            assert response.status == 401
            assert response.headers["www-authenticate"].startswith(
                'Basic realm="emailhook dashboard"'
            )
        assert context.request.post("/dashboard/replay/1").status == 401
        page = context.new_page()
        with pytest.raises(Exception, match="ERR_INVALID_AUTH_CREDENTIALS"):
            page.goto("/")
    finally:
        context.close()
