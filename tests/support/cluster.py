"""emailhook deployed on the hosts of support/hosts.py, as it would be on real machines.

``db`` runs a private PostgreSQL and Redis bound to its address; ``web1``/``web2`` run
``emailhook serve`` bound to theirs, each with its own data, spool and metrics folders (its own
disk); ``w1``/``w2`` run ``emailhook worker`` (Celery and its relay). Every host has the same
DATABASE_URL, CELERY_BROKER_URL, EMAILHOOK_ENV=production and webhook token, as the README's
"Running on several machines" asks. The schema is migrated once, from ``lg``, and no process
migrates by itself (EMAILHOOK_AUTO_MIGRATE=false): two hosts racing an upgrade would fail.

PostgreSQL and Redis live as long as the cluster; each scenario gets a fresh database, an
emptied Redis, fresh host folders and fresh processes (``begin`` / ``end``).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import httpx
from sqlalchemy import Engine, create_engine, text

from emailhook.adapters.intake.spool_promoter import spool_backlog
from support.hosts import Network, in_host
from support.http_calls import http_get
from support.netns import NetnsThreads
from support.servers import PostgresServer, RedisServer, _dies_with_us
from support.stack import Process, wait_until

T = TypeVar("T")
WEBS, WORKERS = ("web1", "web2"), ("w1", "w2")
WEB_PORT = 8000
#: as the single-host fault suite: republish after 3 s, retry after 0.2 s, dead after 3 failures
FAULT_ENV = {
    "EMAILHOOK_REDELIVERY_SECONDS": "3",
    "EMAILHOOK_RETRY_BACKOFF_SECONDS": "0.2",
    "EMAILHOOK_MAX_ATTEMPTS": "3",
}


class Cluster:
    def __init__(self, network: Network, workdir: Path) -> None:
        self.net = network
        self.workdir = workdir
        self.observer = NetnsThreads(network.ns("lg"))
        address, ns = network.address("db"), network.ns("db")
        self.postgres = PostgresServer(host=address, netns=ns).start()
        self.redis = RedisServer(host=address, netns=ns).start()
        self.token = secrets.token_urlsafe(24)
        self.processes: dict[str, Process] = {}
        self.database_url = ""
        self._engine: Engine | None = None
        self.scenario_dir = workdir

    # -- a scenario's life -----------------------------------------------------------------
    def begin(self, scenario: str) -> None:
        """A fresh database, an empty Redis, new host folders; every process started."""
        name = f"mh_{uuid.uuid4().hex[:10]}"
        self.call(self._admin, f'CREATE DATABASE "{name}"')
        self.database_url = self.postgres.url.rsplit("/", 1)[0] + f"/{name}"
        self._engine = create_engine(
            self.database_url.replace("postgresql:", "postgresql+psycopg:")
        )
        from emailhook.adapters.db.schema import upgrade

        self.call(upgrade, self.engine)
        self.call(_flush_redis, self.redis.url)
        self.scenario_dir = self.workdir / scenario
        for host in WEBS:
            self.processes[host] = self.spawn(host, self._serve_args(host))
        for host in WORKERS:
            self.processes[host] = self.spawn(host, ["worker", "--concurrency", "1"])
        for host in WEBS:
            self.wait_web(host)
        for host in WORKERS:
            self.wait_worker(host)

    def end(self) -> None:
        for process in self.processes.values():
            process.stop()
        self.processes.clear()
        if self._engine is not None:
            self.call(self._engine.dispose)
            self._engine = None
            name = self.database_url.rsplit("/", 1)[1]
            self.call(self._admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        try:
            self.end()
        finally:
            self.observer.close()
            self.redis.close()
            self.postgres.close()

    # -- processes -------------------------------------------------------------------------
    def folder(self, host: str, name: str) -> Path:
        path = self.scenario_dir / host / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def env(self, host: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("EMAILHOOK_", "CELERY_"))}
        env.pop("DATABASE_URL", None)
        env.update(FAULT_ENV)
        env.update(
            DATABASE_URL=self.database_url,
            CELERY_BROKER_URL=self.redis.url,
            EMAILHOOK_ENV="production",
            EMAILHOOK_WEBHOOK_TOKENS=self.token,
            EMAILHOOK_AUTO_MIGRATE="false",
            # a session of a host cut off mid-transaction ends within 5 s (README, "Running on
            # several machines"), well inside a 10 s cut
            EMAILHOOK_DATABASE_DEAD_PEER_SECONDS="5",
            EMAILHOOK_DATA_DIR=str(self.folder(host, "var")),
            EMAILHOOK_SPOOL_DIR=str(self.folder(host, "spool")),
            EMAILHOOK_METRICS_DIR=str(self.folder(host, "metrics")),
        )
        return env

    def spawn(self, host: str, args: Sequence[str], name: str | None = None) -> Process:
        name = name or host
        log = self.scenario_dir / host / f"{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        command = _dies_with_us(in_host(self.net, host, [sys.executable, "-m", "emailhook", *args]))
        with log.open("ab") as handle:
            popen = subprocess.Popen(
                command,
                cwd=self.scenario_dir / host,
                env=self.env(host),
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return Process(name, popen, log)

    def _serve_args(self, host: str) -> list[str]:
        address = self.net.address(host, "front")
        return ["serve", "--host", address, "--port", str(WEB_PORT), "--workers", "1"]

    def start_web(self, host: str) -> None:
        self.processes[host] = self.spawn(host, self._serve_args(host))
        self.wait_web(host)

    def wait_web(self, host: str) -> None:
        process = self.processes[host]
        url = f"{self.web_url(host)}/healthz"
        wait_until(
            lambda: process.popen.poll() is not None or self.call(_answers, url),
            45,
            f"{host} serving\n{process.output()[-2000:]}",
            step=0.2,
        )
        assert process.popen.poll() is None, process.output()[-3000:]

    def wait_worker(self, host: str) -> None:
        process = self.processes[host]
        wait_until(
            lambda: "ready." in process.output() or process.popen.poll() is not None,
            60,
            f"{host} worker ready",
            step=0.2,
        )
        assert process.popen.poll() is None, process.output()[-3000:]

    def kill(self, host: str) -> None:
        """SIGKILL every process of ``host``, as when the machine dies."""
        self.processes.pop(host).kill()

    def web_url(self, host: str) -> str:
        return f"http://{self.net.address(host, 'front')}:{WEB_PORT}"

    def post_urls(self, hosts: Sequence[str] = WEBS) -> list[str]:
        return [f"{self.web_url(host)}/email/{self.token}" for host in hosts]

    # -- the database, seen from lg ---------------------------------------------------------
    @property
    def engine(self) -> Engine:
        assert self._engine is not None, "no scenario running"
        return self._engine

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the observer's thread in ``lg`` (where the hosts are)."""
        return self.observer.call(fn, *args)

    def scalar(self, sql: str) -> Any:
        def run(engine: Engine) -> Any:
            with engine.connect() as conn:
                return conn.execute(text(sql)).scalar()

        return self.call(run, self.engine)

    def inbox_request_ids(self) -> Counter[str]:
        def run(engine: Engine) -> Counter[str]:
            with engine.connect() as conn:
                return Counter(conn.execute(text("SELECT request_id FROM inbox_body")).scalars())

        return self.call(run, self.engine)

    def unmoved(self, folders: Sequence[Path]) -> int:
        return sum(self.call(spool_backlog, self.engine, folder)[1] for folder in folders)

    def wait_drained(self, folders: Sequence[Path], timeout: float = 90) -> None:
        """Every spool folder moved into the inbox and no body pending."""

        def drained() -> bool:
            pending = self.scalar("SELECT count(*) FROM inbox_body WHERE state = 'pending'")
            return self.unmoved(folders) == 0 and pending == 0

        try:
            wait_until(drained, timeout, "an empty backlog on every host", step=0.5)
        except AssertionError as error:
            states = self.scalar(
                "SELECT string_agg(state || '=' || n, ' ') FROM"
                " (SELECT state, count(*) AS n FROM inbox_body GROUP BY state) s"
            )
            logs = "\n".join(
                f"--- {name} ---\n{p.output()[-2500:]}" for name, p in self.processes.items()
            )
            raise AssertionError(f"{error}\ninbox: {states}\n{logs}") from None

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.postgres.url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql)


def _flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url, socket_timeout=5).flushall()


def _answers(url: str) -> bool:
    try:
        return http_get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
