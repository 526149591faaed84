"""Headless Chromium (Debian's, never a downloaded build) driving a real emailhook stack."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from conftest import SEED_EVENTS
from support.dashboard_data import campaign_bodies
from support.services import require_chromium
from support.stack import Stack

OPERATOR_USER, OPERATOR_PASSWORD = "ops", "browser-test-pw"
#: every switch that could make Chromium reach the network or a service of its own
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
#: the seed bodies' events and the campaign bodies' events
POSTED_EVENTS = SEED_EVENTS + 11


@pytest.fixture(scope="module")
def chromium_path() -> str:
    return require_chromium()


@pytest.fixture(scope="module")
def stack(
    chromium_path: str, tmp_path_factory: pytest.TempPathFactory, seed_bodies: dict[str, bytes]
) -> Iterator[Stack]:
    """A stack on the embedded default, with operators, holding the posted events."""
    workdir = tmp_path_factory.mktemp("browser")
    running = Stack(
        workdir,
        f"sqlite:///{workdir / 'var' / 'emailhook.db'}",
        None,
        extra_env={
            "EMAILHOOK_OPERATOR_USERS": f"{OPERATOR_USER}:{OPERATOR_PASSWORD}",
            "EMAILHOOK_MAX_ATTEMPTS": "1",  # a poison body is dead after one failure
        },
    ).start()
    try:
        for body in posted_bodies(seed_bodies):
            assert running.post(body).status_code == 200
        running.wait_for_events(POSTED_EVENTS)
        running.wait_until_drained()
        yield running
    finally:
        running.stop()


def posted_bodies(seed_bodies: dict[str, bytes]) -> list[bytes]:
    return [*seed_bodies.values(), *(orjson.dumps(body) for body in campaign_bodies())]


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any, stack: Stack) -> Iterator[Any]:
    """A page logged in as the operator."""
    context = browser.new_context(
        base_url=stack.base_url,
        http_credentials={"username": OPERATOR_USER, "password": OPERATOR_PASSWORD},
        viewport={"width": 1280, "height": 900},
        accept_downloads=True,
    )
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def screenshot_dir(tmp_path: Path) -> Path:
    """Where screenshots go: EMAILHOOK_SCREENSHOTS (``make screenshot``: docs/), else tmp."""
    return Path(os.environ.get("EMAILHOOK_SCREENSHOTS") or tmp_path)
