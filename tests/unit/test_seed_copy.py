"""The project's copy of the brief's eight bodies is byte for byte the original."""

from __future__ import annotations

from pathlib import Path

import pytest

COPY = Path(__file__).resolve().parents[1] / "data" / "seed"
ORIGINAL = Path(__file__).resolve().parents[3] / "shared" / "payloads" / "seed"


def test_seed_copy_matches_the_shared_originals() -> None:
    if not ORIGINAL.is_dir():
        pytest.skip(f"no shared/ beside this clone ({ORIGINAL})")
    originals = {p.name: p.read_bytes() for p in ORIGINAL.glob("*.json")}
    assert {p.name: p.read_bytes() for p in COPY.glob("*.json")} == originals
