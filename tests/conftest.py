"""Fixtures shared by every test folder: seed bodies and backends."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

from support.services import (
    BACKENDS,
    backend_urls,
    fresh_postgres_database,
    private_rabbitmq,
    private_redis,
)

REPO = Path(__file__).resolve().parents[1]

# The property tests outside tests/fuzz (whose profiles say the same): no deadline per example.
# Hypothesis' default 200 ms timed this machine's load rather than the code (make check failed
# on it at a load of 10 on two cores); their time is bounded by their example counts.
hypothesis_settings.register_profile("suite", deadline=None)
hypothesis_settings.load_profile("suite")
#: the order folders are handed to pytest-xdist's workers in: the longest first (multihost
#: and its one cluster, the fault scenarios), the many short ones last to fill the gaps
FOLDER_ORDER = ("multihost", "faults", "e2e", "browser", "docs", "fuzz", "integration", "unit")
#: the integration modules that ``make check`` runs with the unit tests (``-m quick``): each of
#: their tests takes well under a second; the others make many databases, start processes or
#: generate hundreds of examples, and run in ``make test``
QUICK_INTEGRATION = frozenset(
    {
        "test_backlog_counts",
        "test_group_commit",
        "test_infobip_api",
        "test_ops",
        "test_prune",
        "test_query_api_access",
        "test_reconcile_run",
        "test_redis_queue",
        "test_suppression_removal",
        "test_systemd_units",
        "test_window_listing",
    }
)
SEED_DIR = Path(os.environ.get("EMAILHOOK_SEED_DIR", REPO / "tests" / "data" / "seed"))
SEED_NAMES = sorted(p.stem for p in SEED_DIR.glob("*.json"))
#: the brief's eight bodies carry twelve events
SEED_EVENTS = 12


@pytest.fixture(scope="session", autouse=True)
def _sqlite_from_template() -> Iterator[None]:
    """New SQLite databases of this process start as a copy of one migrated once
    (support/sqlite_template.py says why and what still migrates for real)."""
    from emailhook.adapters.db import schema
    from support.sqlite_template import upgrade_from_template

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(schema, "upgrade", upgrade_from_template(schema.upgrade))
        yield


@pytest.fixture(scope="session")
def seed_bodies() -> dict[str, bytes]:
    """The eight seed bodies as raw JSON bytes, by file name."""
    assert len(SEED_NAMES) == 8, f"expected the eight seed bodies in {SEED_DIR}"
    return {name: (SEED_DIR / f"{name}.json").read_bytes() for name in SEED_NAMES}


@pytest.fixture(scope="session")
def load_seed() -> Callable[[str], dict[str, Any]]:
    def load(name: str) -> dict[str, Any]:
        return dict(json.loads((SEED_DIR / f"{name}.json").read_text()))

    return load


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database."""
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def redis_url() -> Iterator[str]:
    """An empty Redis of the test's own."""
    with private_redis() as url:
        yield url


@pytest.fixture
def rabbitmq_url() -> Iterator[str]:
    """An empty RabbitMQ virtual host of the test's own."""
    with private_rabbitmq() as url:
        yield url


@pytest.fixture(params=list(BACKENDS))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str | None]]:
    """(DATABASE_URL, CELERY_BROKER_URL or None) for each supported combination."""
    with backend_urls(request.param, tmp_path) as urls:
        yield urls


def _folder(item: pytest.Item) -> str:
    parts = item.path.parts
    return parts[parts.index("tests") + 1] if "tests" in parts[:-1] else ""


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> Iterator[None]:
    """Mark ``quick`` the unit tests and the QUICK_INTEGRATION modules (``make check``) before
    ``-m`` selects; then order what is left: long folders first (FOLDER_ORDER), and within a
    folder pytest's own order."""
    for item in items:
        folder = _folder(item)
        if folder == "unit" or (folder == "integration" and item.path.stem in QUICK_INTEGRATION):
            item.add_marker(pytest.mark.quick)
    yield

    def rank(item: pytest.Item) -> int:
        folder = _folder(item)
        return FOLDER_ORDER.index(folder) if folder in FOLDER_ORDER else len(FOLDER_ORDER)

    items.sort(key=rank)
