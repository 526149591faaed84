"""The machine's PostgreSQL, Redis and RabbitMQ: found, or skipped (or failed under CI)."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

POSTGRES_URL = os.environ.get(
    "EMAILHOOK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("EMAILHOOK_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
RABBITMQ_URL = os.environ.get("EMAILHOOK_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
#: Debian's Chromium, which the browser tests drive through Playwright (never a downloaded one)
CHROMIUM = os.environ.get("EMAILHOOK_TEST_CHROMIUM", "/usr/bin/chromium")
#: services whose tests must run, not skip (``.ci/run`` sets postgres,redis,rabbitmq,chromium)
REQUIRED = {s for s in os.environ.get("EMAILHOOK_TEST_REQUIRE", "").split(",") if s}


def require(service: str, url: str) -> None:
    """Skip the test when ``service`` is not reachable; fail instead when it is required."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), 1):
            return
    except OSError as error:
        message = f"{service} not reachable at {parts.hostname}:{parts.port}: {error}"
        if service in REQUIRED:
            pytest.fail(f"{message} (required by EMAILHOOK_TEST_REQUIRE)")
        pytest.skip(message)


def require_chromium() -> str:
    """Return Chromium's path; skip when it or Playwright is missing (fail when required)."""
    import importlib.util
    import shutil

    problem = None
    if importlib.util.find_spec("playwright") is None:
        problem = "the playwright package is not installed (pip install -e '.[dev]')"
    elif shutil.which(CHROMIUM) is None:
        problem = (
            f"no Chromium at {CHROMIUM} (apt-get install chromium; or EMAILHOOK_TEST_CHROMIUM)"
        )
    if problem is None:
        return CHROMIUM
    message = f"browser tests skipped: {problem}"
    if "chromium" in REQUIRED:
        pytest.fail(f"{message} (required by EMAILHOOK_TEST_REQUIRE)")
    pytest.skip(message)


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """Create an empty database for one test and drop it afterwards; yield its URL."""
    import psycopg

    require("postgres", POSTGRES_URL)
    name = f"emailhook_test_{uuid.uuid4().hex[:12]}"
    admin = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def clean_redis() -> str:
    """Return the test Redis URL with its database emptied."""
    import redis

    require("redis", REDIS_URL)
    redis.Redis.from_url(REDIS_URL).flushdb()
    return REDIS_URL


def clean_rabbitmq() -> str:
    """Return the test RabbitMQ URL with the email-webhook queue emptied."""
    from kombu import Connection, Queue

    require("rabbitmq", RABBITMQ_URL)
    with Connection(RABBITMQ_URL, connect_timeout=3) as conn:
        Queue("email-webhook", durable=True)(conn.default_channel).declare()
        Queue("email-webhook", durable=True)(conn.default_channel).purge()
    return RABBITMQ_URL


#: the combinations the service supports: embedded default, and PostgreSQL with each broker
BACKENDS = ("sqlite+folder", "postgres+redis", "postgres+rabbitmq")


@contextmanager
def backend_urls(name: str, workdir: Path) -> Iterator[tuple[str, str | None]]:
    """Yield (DATABASE_URL, CELERY_BROKER_URL or None) for a backend, cleaned for a test."""
    if name == "sqlite+folder":
        yield f"sqlite:///{workdir / 'var' / 'emailhook.db'}", None
        return
    broker = clean_redis() if name == "postgres+redis" else clean_rabbitmq()
    with fresh_postgres_database() as database_url:
        yield database_url, broker
