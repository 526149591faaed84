"""Stacks tuned to heal fast, so that each fault scenario finishes in seconds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.ledger import PUBLISHED
from support.services import backend_urls
from support.stack import Stack, StackFactory, ahead_of_other_tests

#: republish after 3 s instead of 60, retry a failed body after 0.2 s, dead after 3 failures
FAULT_ENV = {
    "EMAILHOOK_REDELIVERY_SECONDS": "3",
    "EMAILHOOK_RETRY_BACKOFF_SECONDS": "0.2",
    "EMAILHOOK_MAX_ATTEMPTS": "3",
}


@pytest.fixture(scope="module", autouse=True)
def ahead() -> Iterator[None]:
    """The fault scenarios (their stacks, servers and load) run ahead of the suite's
    other workers: they assert answer latencies (support/stack.py, ahead_of_other_tests)."""
    with ahead_of_other_tests():
        yield


@pytest.fixture
def make_stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StackFactory]:
    """Build (not start) stacks; every one is stopped at the end of the test, after saying,
    if the test failed, where it stood (the inbox, the writers' flock, every thread's
    stack: ``Stack.diagnose``)."""
    stacks: list[Stack] = []

    def make(database_url: str, broker_url: str | None, **env: str) -> Stack:
        stack = Stack(tmp_path, database_url, broker_url, extra_env={**FAULT_ENV, **env})
        stacks.append(stack)
        return stack

    yield make
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for stack in stacks:
            diagnosis = stack.diagnose()
            report.sections.append((f"stack {stack.label} when the test failed", diagnosis))
    for stack in stacks:
        stack.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the test item, for the fixtures' teardown to read."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(params=["sqlite+folder", "postgres+redis", "postgres+rabbitmq"])
def fault_stack(
    request: pytest.FixtureRequest, tmp_path: Path, make_stack: StackFactory
) -> Iterator[Stack]:
    """A started stack on the machine's services, for faults that break only our processes."""
    with backend_urls(request.param, tmp_path) as (database_url, broker_url):
        stack = make_stack(database_url, broker_url).start()
        yield stack
        stack.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print every scenario's ledger: posted, answered 200, statuses, latency, stored."""
    if PUBLISHED:
        terminalreporter.section("fault suite ledgers")
        for line in PUBLISHED:
            terminalreporter.write_line(line)
