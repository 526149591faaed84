"""The overview in headless Chromium, read in the one vocabulary: its bars are event types
and its rates count messages, for a Postmark-only database and for one that mixes Postmark's
events with Infobip's seed bodies."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.message_oracle import (
    event_type_counts,
    expected_rates,
    messages_by_provider,
    total,
)
from support.stack import Stack

from .conftest import OPERATOR_PASSWORD, OPERATOR_USER
from .test_dashboard_browser import chart_counts

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

POSTMARK = Path(__file__).parents[1] / "data" / "providers" / "postmark"
#: the four bodies the issue's new user posted: Delivery, HardBounce, Open, SpamComplaint
POSTMARK_BODIES = ("delivered_event", "bounce_event", "open_event", "spam_event")
POSTMARK_PAIR = "postmark:browser-test-pw"


def _stack(workdir: Path) -> Stack:
    return Stack(
        workdir,
        f"sqlite:///{workdir / 'var' / 'emailhook.db'}",
        None,
        extra_env={
            "EMAILHOOK_OPERATOR_USERS": f"{OPERATOR_USER}:{OPERATOR_PASSWORD}",
            "EMAILHOOK_POSTMARK_BASIC_AUTH": POSTMARK_PAIR,
        },
    ).start()


def _post_postmark(stack: Stack) -> None:
    auth = "Basic " + base64.b64encode(POSTMARK_PAIR.encode()).decode()
    for name in POSTMARK_BODIES:
        answer = stack.post_to(
            "/webhooks/postmark",
            (POSTMARK / f"{name}.json").read_bytes(),
            headers={"Authorization": auth, "Content-Type": "application/json"},
        )
        assert answer.status_code == 200, answer.text


@pytest.fixture(params=["postmark-only", "mixed"])
def filled(
    request: pytest.FixtureRequest,
    chromium_path: str,
    tmp_path: Path,
    seed_bodies: dict[str, bytes],
) -> Iterator[Stack]:
    del chromium_path  # skips without Chromium before a stack starts
    stack = _stack(tmp_path)
    try:
        _post_postmark(stack)
        expected_events = len(POSTMARK_BODIES)
        if request.param == "mixed":
            for body in seed_bodies.values():
                assert stack.post(body).status_code == 200
            expected_events += 12
        stack.wait_for_events(expected_events)
        stack.wait_until_drained()
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def overview_page(browser: Any, filled: Stack) -> Iterator[Any]:
    context = browser.new_context(
        base_url=filled.base_url,
        http_credentials={"username": OPERATOR_USER, "password": OPERATOR_PASSWORD},
        viewport={"width": 1280, "height": 900},
    )
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_the_overview_bars_are_event_types_and_its_rates_count_messages(
    overview_page: Any, filled: Stack
) -> None:
    page = overview_page
    assert page.goto("/?range=24h").status == 200
    counts, _ = chart_counts(page)
    assert counts == event_type_counts(filled.engine)
    assert {"delivered", "bounced", "opened", "complained"} <= set(counts)
    assert not set(counts) & {"Delivery", "HardBounce", "Open", "SpamComplaint", "DELIVERED"}
    rates = expected_rates(total(messages_by_provider(filled.engine)))
    assert rates["delivery"] is not None
    for name, value in rates.items():
        shown = "\u2013" if value is None else f"{value * 100:.1f} %"
        assert page.locator(f'[data-rate="{name}"] .value').inner_text() == shown, name
    # Postmark's own names are the detail behind the words
    row = page.locator('#totals tr[data-event-type="bounced"]')
    row.locator("summary").click()
    assert "HardBounce" in row.locator('li[data-provider="postmark"]').inner_text()
