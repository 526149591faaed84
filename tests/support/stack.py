"""A real emailhook: web server and Celery worker as processes, on a chosen backend."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine, func, select, text

from emailhook.adapters.db.models import EmailCallback
from emailhook.adapters.intake.spool_promoter import spool_backlog
from support.http_calls import http_get, http_post
from support.ports import reserve_port

WORKER_ARGS = ["-m", "celery", "-A", "emailhook", "worker", "-Q", "email-webhook,email-send"]


def free_port() -> int:
    """A port for a server of the tests, which no other test process is given."""
    return reserve_port()


def wait_until(check: Callable[[], bool], timeout: float, what: str, step: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        """Signal the main process (as a supervisor would) and wait; kill the group if stuck."""
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self.kill_group()
        return int(self.popen.returncode)

    def kill(self) -> None:
        """SIGKILL the process and every child it started, as a crash would."""
        self.kill_group()
        self.popen.wait(10)

    def kill_group(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def dump_stacks(self) -> None:
        """Ask the process and its children for the stack of each thread (on stderr, so in
        the log): what a stuck process waits for (see ``observability.configure``)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGUSR2)


@dataclass
class Stack:
    """emailhook's processes on one backend; every URL and setting goes in through ``env``."""

    workdir: Path
    database_url: str
    broker_url: str | None
    extra_env: Mapping[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    processes: dict[str, Process] = field(default_factory=dict)
    _engine: Engine | None = None

    @property
    def label(self) -> str:
        """``sqlite+folder``, ``postgresql+redis``, ...: the backend, without addresses."""
        database = self.database_url.split(":", 1)[0].split("+")[0]
        broker = (self.broker_url or "folder").split(":", 1)[0]
        return f"{database}+{broker}"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("EMAILHOOK_", "CELERY_"))}
        env.pop("DATABASE_URL", None)
        env["EMAILHOOK_DATA_DIR"] = str(self.workdir / "var")
        env["DATABASE_URL"] = self.database_url
        if self.broker_url:
            env["CELERY_BROKER_URL"] = self.broker_url
        env.update(self.extra_env)
        return env

    def spawn(self, name: str, args: Sequence[str]) -> Process:
        log = self.workdir / f"{name}.log"
        with log.open("ab") as handle:
            popen = subprocess.Popen(
                [sys.executable, *args],
                cwd=self.workdir,
                env=self.env(),
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        process = Process(name, popen, log)
        self.processes[name] = process
        return process

    def start_web(self, *, workers: int = 1) -> Process:
        args = ["-m", "emailhook", "serve", "--port", str(self.port), "--workers", str(workers)]
        process = self.spawn("web", args)
        wait_until(self._web_ready, 30, f"web server on {self.port}\n{process.output()}")
        return process

    def start_worker(self, *, concurrency: int = 2, name: str = "worker") -> Process:
        args = [*WORKER_ARGS, "--loglevel=info", f"--concurrency={concurrency}"]
        args += ["-n", f"{name}-{self.port}@%h"]
        process = self.spawn(name, args)
        wait_until(
            lambda: "ready." in process.output() or process.popen.poll() is not None,
            60,
            "worker ready",
        )
        assert process.popen.poll() is None, process.output()
        return process

    def start(self) -> Stack:
        self.start_web()
        self.start_worker()
        return self

    def stop(self) -> None:
        for process in reversed(list(self.processes.values())):
            process.stop()
        if self._engine is not None:
            self._engine.dispose()

    def _web_ready(self) -> bool:
        try:
            return http_get(f"{self.base_url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def post(self, body: bytes | Mapping[str, Any] | str, **kwargs: Any) -> httpx.Response:
        if isinstance(body, Mapping):
            import json

            body = json.dumps(body)
        return http_post(f"{self.base_url}/email", content=body, timeout=10, **kwargs)

    def post_to(self, path: str, body: bytes, **kwargs: Any) -> httpx.Response:
        """POST ``body`` to ``path`` (a provider's ``/webhooks/<name>``)."""
        return http_post(f"{self.base_url}{path}", content=body, timeout=10, **kwargs)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            url = self.database_url
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
            self._engine = create_engine(url)
        return self._engine

    def count_events(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count(EmailCallback.id))).scalar_one())

    def count_distinct_keys(self) -> int:
        with self.engine.connect() as conn:
            stmt = select(func.count(func.distinct(EmailCallback.event_key)))
            return int(conn.execute(stmt).scalar_one())

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params).mappings())

    def wait_for_events(self, count: int, timeout: float = 30) -> None:
        wait_until(
            lambda: self.count_events() >= count,
            timeout,
            f"{count} email_callback rows (have {self.count_events()})",
            step=0.1,
        )

    def reset(self) -> None:
        """Empty every table, for the next test on the same running stack."""
        with self.engine.begin() as conn:
            for table in (
                "contact_email_state",
                "contact_email_count",
                "suppression",
                "suppression_evidence",
                "suppression_lift",
                "suppression_removal",
                "email_callback",
                "platform_event",
                "inbox_body",
            ):
                conn.execute(text(f"DELETE FROM {table}"))

    def wait_until_drained(self, timeout: float = 30) -> None:
        """Wait until no accepted body is pending; on timeout, say where things stand."""
        try:
            wait_until(self._drained, timeout, "an empty backlog", step=0.1)
        except AssertionError as error:
            raise AssertionError(f"{error}\n{self.diagnose()}") from None

    def _drained(self) -> bool:
        """Nothing in the spool that is not in the inbox yet, and nothing pending there."""
        _, unmoved = spool_backlog(self.engine, self.workdir / "var" / "spool")
        pending = self.scalar("SELECT count(*) FROM inbox_body WHERE state = 'pending'")
        return unmoved == 0 and pending == 0

    def diagnose(self) -> str:
        """The inbox by state and the tail of every process log, for a failure message."""
        try:
            states = self.rows(
                "SELECT state, count(*) AS n, max(deliveries) AS deliveries,"
                " max(attempts) AS attempts, min(available_at) AS due FROM inbox_body"
                " GROUP BY state"
            )
        except Exception as error:  # the database may be what is broken
            states = [{"error": repr(error)}]
        live = [p for p in self.processes.values() if p.popen.poll() is None]
        for process in live:
            process.dump_stacks()
        if live:
            time.sleep(1)
        logs = "\n".join(
            f"--- {name} ---\n{process.output()[-12000:]}"
            for name, process in self.processes.items()
        )
        try:
            files, unmoved = spool_backlog(self.engine, self.workdir / "var" / "spool")
            spool = f"{files} files, {unmoved} bytes not moved"
        except Exception as error:
            spool = repr(error)
        return f"inbox: {states}\nspool: {spool}\n{self._writer_lock()}\n{logs}"

    def _writer_lock(self) -> str:
        """Which processes hold or wait for the SQLite writers' flock (``/proc/locks``)."""
        path = Path(self.database_url.removeprefix("sqlite:///") + "-writer.lock")
        if not self.database_url.startswith("sqlite") or not path.exists():
            return "writer lock: none"
        inode = f":{path.stat().st_ino} "
        try:
            lines = [line for line in Path("/proc/locks").read_text().splitlines() if inode in line]
        except OSError as error:
            return f"writer lock: {error}"
        return "writer lock (/proc/locks; -> waits): " + ("; ".join(lines) or "free")


@contextlib.contextmanager
def ahead_of_other_tests(steps: int = 5) -> Iterator[None]:
    """Run this thread, and the threads and processes it starts meanwhile (which inherit its
    priority), ``steps`` nice levels above the rest of the machine; a no-op without root.

    The fault and multi-host scenarios assert how fast answers come (1.5 s, 2 s) while the
    suite's other pytest-xdist workers run CPU-bound tests beside them on two cores: the
    service under test and its load generator go first, as a production host would give them.
    """
    base = os.getpriority(os.PRIO_PROCESS, 0)
    try:
        os.setpriority(os.PRIO_PROCESS, 0, base - steps)
    except PermissionError:
        yield
        return
    try:
        yield
    finally:
        os.setpriority(os.PRIO_PROCESS, 0, base)


#: makes a Stack from (database_url, broker_url, **extra_env)
StackFactory = Callable[..., Stack]
