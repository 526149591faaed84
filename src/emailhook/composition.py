"""Wiring shared by the web app, the worker and the CLI: engines, sessions, policies."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from emailhook.adapters.db.engine import create_db_engine, create_session_factory
from emailhook.domain.suppression import SoftBounceRule
from emailhook.service.processing import RetryPolicy
from emailhook.service.relay import RelayPolicy
from emailhook.settings import Settings


@dataclass(frozen=True, slots=True)
class Database:
    engine: Engine
    sessions: sessionmaker[Session]


def open_database(
    settings: Settings,
    *,
    lock_timeout_seconds: float,
    statement_timeout_seconds: float | None = None,
) -> Database:
    """Return the configured database, migrated first when ``auto_migrate`` is on."""
    engine = create_db_engine(
        settings,
        lock_timeout_seconds=lock_timeout_seconds,
        statement_timeout_seconds=statement_timeout_seconds,
    )
    if settings.auto_migrate:
        migrate(settings)
    return Database(engine, create_session_factory(engine))


def open_read_only_database(settings: Settings) -> Database:
    """Return the configured database for queries: nothing it runs can write."""
    engine = create_db_engine(
        settings,
        lock_timeout_seconds=settings.web_lock_timeout_seconds,
        statement_timeout_seconds=settings.query_timeout_seconds,
        read_only=True,
    )
    return Database(engine, create_session_factory(engine))


def migrate(settings: Settings) -> None:
    """Bring the schema up to date, on a connection without the web's short timeouts."""
    # Imported here: Alembic adds about 10 MB to a process, and web processes started by
    # `emailhook serve` never migrate (the server migrates once, before it starts them).
    from emailhook.adapters.db.migrations import upgrade

    engine = create_db_engine(settings, lock_timeout_seconds=settings.worker_lock_timeout_seconds)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


class PerProcess:
    """One Database per process: connections must never cross a fork (Celery's prefork pool)."""

    def __init__(self, open_: Callable[[], Database]) -> None:
        self._open = open_
        self._pid = -1
        self._database: Database | None = None

    def get(self) -> Database:
        if self._database is None or self._pid != os.getpid():
            self._database = self._open()
            self._pid = os.getpid()
        return self._database


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=settings.max_attempts,
        backoff_seconds=settings.retry_backoff_seconds,
        backoff_max_seconds=settings.retry_backoff_max_seconds,
    )


def soft_bounce_rule(settings: Settings) -> SoftBounceRule:
    return SoftBounceRule(
        limit=settings.soft_bounce_limit,
        window=timedelta(days=settings.soft_bounce_window_days),
    )


def relay_policy(settings: Settings) -> RelayPolicy:
    return RelayPolicy(
        batch_bodies=settings.relay_batch_bodies,
        batch_events=settings.relay_batch_events,
        max_in_flight_messages=settings.relay_max_in_flight,
        redelivery_seconds=settings.redelivery_seconds,
        max_deliveries=settings.max_deliveries,
        poll_seconds=settings.relay_poll_seconds,
    )
