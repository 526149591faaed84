"""Importing the pure parts loads no framework: the package root serves its apps lazily."""

from __future__ import annotations

import subprocess
import sys

import pytest

FRAMEWORKS = ("flask", "werkzeug", "sqlalchemy", "celery", "kombu", "httpx", "pydantic")


def _loaded_after(statement: str) -> list[str]:
    probe = (
        f"import sys; {statement}; print(','.join(m for m in {FRAMEWORKS!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    return [name for name in result.stdout.strip().split(",") if name]


@pytest.mark.parametrize(
    "module",
    [
        "emailhook",
        "emailhook.domain",
        "emailhook.domain.email_status",
        "emailhook.providers.registry",
    ],
)
def test_importing_a_pure_part_loads_no_framework(module: str) -> None:
    assert _loaded_after(f"import {module}") == []


def test_the_package_root_still_serves_create_app() -> None:
    assert "flask" in _loaded_after("from emailhook import create_app")
