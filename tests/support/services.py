"""The PostgreSQL, Redis and RabbitMQ of the tests: each test's or stack's own.

Any number of pytest workers (``make test`` runs several) and of runs from other worktrees share
this machine, so nothing a test empties or drops is shared:

* PostgreSQL: the machine's server (``EMAILHOOK_TEST_POSTGRES_URL``); a database of its own for
  every test, named after the test process (``emailhook_test_<pid>_<hex>``), either empty or
  copied from a template the process migrated once (``CREATE DATABASE ... TEMPLATE``).
* Redis: a private ``redis-server`` for each use (each stack, each test that asks), on a
  port reserved for the test process (support/ports.py).
* RabbitMQ: the machine's broker (``EMAILHOOK_TEST_RABBITMQ_URL``), in a virtual host made with
  ``rabbitmqctl`` for each use and deleted afterwards.

What a test process leaves behind when it is killed (databases, virtual hosts) is swept by the
next test process that starts, by the owner's pid in the name. A missing service or tool skips
the test saying why, or fails it when ``EMAILHOOK_TEST_REQUIRE`` names it (``.ci/run``).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import socket
import subprocess
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import quote, urlsplit, urlunsplit

import pytest

POSTGRES_URL = os.environ.get(
    "EMAILHOOK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
#: the broker; the virtual host is replaced by the test process's own
RABBITMQ_URL = os.environ.get("EMAILHOOK_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
RABBITMQCTL = os.environ.get("EMAILHOOK_TEST_RABBITMQCTL", "rabbitmqctl")
#: Debian's Chromium, which the browser tests drive through Playwright (never a downloaded one)
CHROMIUM = os.environ.get("EMAILHOOK_TEST_CHROMIUM", "/usr/bin/chromium")
#: what must run rather than skip: postgres, redis, rabbitmq, chromium, netns, systemd
#: (``.ci/run`` sets them all)
REQUIRED = {s.strip() for s in os.environ.get("EMAILHOOK_TEST_REQUIRE", "").split(",") if s}
#: in every name this process gives a database or a virtual host: whose it is
OWNER = str(os.getpid())

_lock = threading.Lock()


def unavailable(requirement: str, reason: str) -> NoReturn:
    """Skip the test saying why; fail it instead when ``requirement`` is required."""
    if requirement in REQUIRED:
        pytest.fail(f"{reason} (required by EMAILHOOK_TEST_REQUIRE={requirement})")
    pytest.skip(reason)


def require(service: str, url: str) -> None:
    """Skip the test when ``service`` is not reachable; fail instead when it is required."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), 1):
            return
    except OSError as error:
        unavailable(service, f"{service} not reachable at {parts.hostname}:{parts.port}: {error}")


def reachable(service: str, url: str) -> bool:
    """Return whether ``service`` answers at ``url``; a required one that does not fails the
    test, as :func:`require` does."""
    try:
        require(service, url)
    except pytest.skip.Exception:
        return False
    return True


def require_chromium() -> str:
    """Return Chromium's path; skip when it or Playwright is missing (fail when required)."""
    import importlib.util

    if importlib.util.find_spec("playwright") is None:
        problem = "the playwright package is not installed (pip install -e '.[dev]')"
    elif shutil.which(CHROMIUM) is None:
        problem = (
            f"no Chromium at {CHROMIUM} (apt-get install chromium; or EMAILHOOK_TEST_CHROMIUM)"
        )
    else:
        return CHROMIUM
    unavailable("chromium", f"browser tests skipped: {problem}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stale(name: str, pattern: re.Pattern[str]) -> bool:
    """Whether ``name`` is one of ours whose owning test process is gone."""
    match = pattern.fullmatch(name)
    return match is not None and not _alive(int(match[1]))


# -- PostgreSQL ---------------------------------------------------------------------------------

#: databases and templates of test processes: emailhook_test_<pid>_<hex>, emailhook_tmpl_<pid>_<hex>
_DATABASE = re.compile(r"emailhook_(?:test|tmpl)_(\d+)_[0-9a-f]{8}")
_postgres: dict[str, str] = {}  # "template" -> its name, once migrated


def _admin_url() -> str:
    return POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")


def _admin(*statements: str) -> list[tuple[object, ...]]:
    import psycopg

    rows: list[tuple[object, ...]] = []
    with psycopg.connect(_admin_url(), autocommit=True, connect_timeout=5) as conn:
        for sql in statements:
            cursor = conn.execute(sql)
            if cursor.description:
                rows += cursor.fetchall()
    return rows


def _database_url(name: str) -> str:
    return f"{_admin_url().rsplit('/', 1)[0]}/{name}"


def _sweep_stale_databases() -> None:
    """Drop the databases of test processes that are gone (killed before their teardown)."""
    names = _admin("SELECT datname FROM pg_database WHERE datname LIKE 'emailhook\\_t%'")
    for (name,) in names:
        if _stale(str(name), _DATABASE):
            with contextlib.suppress(Exception):
                _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _migrated_template() -> str:
    """This process's template database, migrated to the head revision once."""
    with _lock:
        if "template" in _postgres:
            return _postgres["template"]
        from sqlalchemy import create_engine

        from emailhook.adapters.db.schema import upgrade

        _sweep_stale_databases()
        name = f"emailhook_tmpl_{OWNER}_{uuid.uuid4().hex[:8]}"
        _admin(f'CREATE DATABASE "{name}"')
        atexit.register(_drop, name)
        engine = create_engine(_database_url(name).replace("postgresql:", "postgresql+psycopg:"))
        try:
            upgrade(engine)
        finally:
            engine.dispose()  # a template must have no session open while it is copied
        _postgres["template"] = name
        return name


def _drop(name: str) -> None:
    with contextlib.suppress(Exception):
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_postgres_database(*, migrated: bool = False) -> Iterator[str]:
    """A database of the test's own, dropped afterwards: empty, or ``migrated`` (a copy of a
    template at the head revision, much cheaper than migrating it); yield its URL."""
    require("postgres", POSTGRES_URL)
    template = f' TEMPLATE "{_migrated_template()}"' if migrated else ""
    name = f"emailhook_test_{OWNER}_{uuid.uuid4().hex[:8]}"
    _admin(f'CREATE DATABASE "{name}"{template}')
    try:
        yield _database_url(name)
    finally:
        _drop(name)


# -- Redis --------------------------------------------------------------------------------------


@contextmanager
def private_redis() -> Iterator[str]:
    """A redis-server of the caller's own, empty, on a reserved port; yield its URL.

    One per use, not per process: a worker's e2e stack lives for its whole group while other
    stacks come and go beside it, and two Celery workers on one queue would take each other's
    messages. A redis-server starts in milliseconds.
    """
    from support.servers import RedisServer

    with RedisServer().start() as server:  # (RedisServer skips without redis-server)
        yield server.url


# -- RabbitMQ -----------------------------------------------------------------------------------

#: virtual hosts of test processes: emailhook-test-<pid>-<hex>
_VHOST = re.compile(r"emailhook-test-(\d+)-[0-9a-f]{8}")
_swept: list[bool] = []


def _rabbitmqctl(*args: str) -> str:
    result = subprocess.run(
        [RABBITMQCTL, "-q", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        said = (result.stderr or result.stdout)[-500:]
        raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed ({result.returncode}): {said}")
    return result.stdout


def _add_vhost(vhost: str, user: str) -> None:
    """Make ``vhost`` for ``user``, first deleting those of test processes that are gone."""
    if shutil.which(RABBITMQCTL) is None:
        unavailable(
            "rabbitmq",
            f"no {RABBITMQCTL} to make a virtual host of the tests' own"
            " (apt-get install rabbitmq-server; or EMAILHOOK_TEST_RABBITMQCTL)",
        )
    try:
        with _lock:
            if not _swept:
                for name in _rabbitmqctl("list_vhosts", "name").split():
                    if _stale(name, _VHOST):
                        _rabbitmqctl("delete_vhost", name)
                _swept.append(True)
        _rabbitmqctl("add_vhost", vhost)
        _rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as error:
        _delete_vhost(vhost)
        unavailable("rabbitmq", f"could not make a RabbitMQ virtual host: {error}")


def _delete_vhost(vhost: str) -> None:
    with contextlib.suppress(Exception):
        _rabbitmqctl("delete_vhost", vhost)


@contextmanager
def private_rabbitmq() -> Iterator[str]:
    """A virtual host of the caller's own on the machine's broker, deleted afterwards; yield
    the broker's URL in it (``EMAILHOOK_TEST_RABBITMQ_URL`` with that virtual host)."""
    require("rabbitmq", RABBITMQ_URL)
    parts = urlsplit(RABBITMQ_URL)
    vhost = f"emailhook-test-{OWNER}-{uuid.uuid4().hex[:8]}"
    _add_vhost(vhost, parts.username or "guest")
    try:
        yield urlunsplit(parts._replace(path=f"/{quote(vhost, safe='')}"))
    finally:
        _delete_vhost(vhost)


#: the combinations the service supports: embedded default, and PostgreSQL with each broker
BACKENDS = ("sqlite+folder", "postgres+redis", "postgres+rabbitmq")


def on_backend(name: str) -> Any:
    """A fixture parameter for backend ``name`` whose tests make one xdist group, run by one
    worker: the e2e tests' stacks on that backend are then started by that worker alone."""
    return pytest.param(name, marks=pytest.mark.xdist_group(f"e2e-{name}"))


@contextmanager
def backend_urls(name: str, workdir: Path) -> Iterator[tuple[str, str | None]]:
    """Yield (DATABASE_URL, CELERY_BROKER_URL or None) for a backend, the caller's own."""
    if name == "sqlite+folder":
        yield f"sqlite:///{workdir / 'var' / 'emailhook.db'}", None
        return
    broker = private_redis() if name == "postgres+redis" else private_rabbitmq()
    with broker as broker_url, fresh_postgres_database() as database_url:
        yield database_url, broker_url
