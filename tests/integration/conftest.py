"""A migrated database (SQLite file, or a fresh PostgreSQL database) and a clock to move."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine, create_engine

from emailhook import create_app
from emailhook.adapters.db.engine import Database, open_database
from emailhook.settings import Settings
from support.clock import Clock
from support.services import fresh_postgres_database


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 1, 1, tzinfo=UTC))


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated database: SQLite in ``tmp_path``, or PostgreSQL copied from a template."""
    if request.param == "sqlite":
        settings = Settings(data_dir=tmp_path, database_url=None)
        db = open_database(settings, lock_timeout_seconds=2)
        yield db
        db.engine.dispose()
        return
    with fresh_postgres_database(migrated=True) as url:
        db = open_database(Settings(database_url=url), lock_timeout_seconds=2)
        yield db
        db.engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A bare engine on a new, unmigrated database (migration tests upgrade it themselves)."""
    if request.param == "sqlite":
        created = create_engine(Settings(data_dir=tmp_path).resolved_database_url)
        yield created
        created.dispose()
        return
    with fresh_postgres_database() as url:
        created = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        yield created
        created.dispose()


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    """The app of a module's ``settings`` (the providers' send tests), disposed after."""
    made = create_app(settings)
    yield made
    made.extensions["emailhook"].database.engine.dispose()
    made.extensions["emailhook"].reads.engine.dispose()
