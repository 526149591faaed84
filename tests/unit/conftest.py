"""Fixtures of the unit tests: the seed's example bodies, read from the shared folder."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

#: Points the unit tests at another copy of the seed bodies (e.g. in CI).
SEED_DIR_ENV = "EMAILHOOK_SEED_DIR"


def seed_dir() -> Path:
    """Return the seed folder: ``$EMAILHOOK_SEED_DIR``, else the copy in ``tests/data/seed``."""
    override = os.environ.get(SEED_DIR_ENV)
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[1] / "data" / "seed"


@pytest.fixture
def seed() -> Callable[[str], dict[str, Any]]:
    """Return a loader: seed name (``"delivered"`` or ``"delivered.json"``) -> a fresh dict."""

    def load(name: str) -> dict[str, Any]:
        path = seed_dir() / (name if name.endswith(".json") else f"{name}.json")
        body = orjson.loads(path.read_bytes())
        assert isinstance(body, dict), f"{path} is not a JSON object"
        return body

    return load


@pytest.fixture
def seed_names() -> list[str]:
    """Return the names of all seed bodies, without ``.json``, sorted."""
    return sorted(path.stem for path in seed_dir().glob("*.json"))
