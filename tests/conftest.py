"""Fixtures shared by every test folder: seed bodies and backends."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from support.services import (
    BACKENDS,
    backend_urls,
    clean_rabbitmq,
    clean_redis,
    fresh_postgres_database,
)

REPO = Path(__file__).resolve().parents[1]
#: the order folders are handed to pytest-xdist's workers in: the longest first (multihost
#: and its one cluster, the fault scenarios), the many short ones last to fill the gaps
FOLDER_ORDER = ("multihost", "faults", "e2e", "browser", "fuzz", "integration", "unit")
SEED_DIR = Path(os.environ.get("EMAILHOOK_SEED_DIR", REPO / "tests" / "data" / "seed"))
SEED_NAMES = sorted(p.stem for p in SEED_DIR.glob("*.json"))
#: the brief's eight bodies carry twelve events
SEED_EVENTS = 12


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
def redis_url() -> str:
    return clean_redis()


@pytest.fixture
def rabbitmq_url() -> str:
    return clean_rabbitmq()


@pytest.fixture(params=list(BACKENDS))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str | None]]:
    """(DATABASE_URL, CELERY_BROKER_URL or None) for each supported combination."""
    with backend_urls(request.param, tmp_path) as urls:
        yield urls


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long folders first (see FOLDER_ORDER); within a folder, pytest's own order."""

    def rank(item: pytest.Item) -> int:
        parts = item.path.parts
        folder = parts[parts.index("tests") + 1] if "tests" in parts[:-1] else ""
        return FOLDER_ORDER.index(folder) if folder in FOLDER_ORDER else len(FOLDER_ORDER)

    items.sort(key=rank)
