"""``make bench``: how fast emailhook accepts and stores, measured in one run on this machine.

Prints a table and writes the same figures to bench/results/latest.json:
  ceiling    bare Flask parsing the JSON, served by granian's WSGI with the processes and threads of
             ``emailhook serve`` (how `serve` ran the whole app before its webhook front)
  servers    the ceiling and the Flask app alone (no front) under granian's WSGI and gunicorn,
             and ``emailhook serve`` (uvicorn and the webhook front): the candidates' figures
  ingest     POST /email accepted per second with the worker stopped (wrk), p50/p99, ratio; off
             SQLite twice: the web host moving its own spool (a machine with no worker: `auto`
             then, serve's mover process beside the server), and the spool left to the
             machine's worker (`auto` while one runs)
  drain      events stored per second from a backlog: 50,000 one-event bodies; 500 x 100
  sustained  web + worker under a fixed offered load (open loop, bench/loadgen.py), p50/p99 from
             the scheduled send time, and seconds until the backlog is empty after the load
  rss        peak resident memory of the web and worker processes
  providers  ingest (POST /webhooks/<provider>, signed) and drain of a SendGrid batch, an SES
             notification, a 500-event Brevo batch and a 100-event Unisender Go batch
  send       POST /messages with 1 and 1,000 recipients, and sending to a local fake Infobip
             at its configured rate with two workers (bench/sending.py)
  two_providers  sending to a fake Infobip and a fake Mailjet at once, each at its own rate,
             with two workers: achieved / limit and the most requests in a second of each
             (bench/two_providers.py)
  campaign   a 1,000,000-recipient JSON Lines campaign (--campaign-recipients) accepted by
             POST /campaigns: seconds, recipients/s, peak web RSS; then sent to a local fake
             Infobip at its rate with two workers: achieved / limit, the most requests in a
             second, peak worker RSS (bench/campaign.py)
on the embedded default (SQLite + folder queue) and on PostgreSQL + Redis.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis
from sqlalchemy import create_engine, func, insert, select

from emailhook.adapters.db.models import EmailCallback, InboxBody, table_of
from emailhook.adapters.intake.spool_promoter import SpoolPromoter, spool_backlog

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "tests" / "data" / "seed" / "delivered.json"
RESULTS = REPO / "bench" / "results"
SERVE = {
    "workers": 2,
    "threads": int(os.environ.get("THREADS", "8")),
}  # the defaults of `emailhook serve`


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


def peak_rss_mb(pid: int) -> float:
    """Largest peak RSS (VmHWM) among a process and its descendants, in MB."""
    pids = [pid]
    try:
        children = subprocess.run(
            ["pgrep", "-g", str(os.getpgid(pid))], capture_output=True, text=True, check=False
        ).stdout.split()
        pids += [int(p) for p in children]
    except ProcessLookupError:
        return 0.0
    peak = 0
    for p in set(pids):
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        if match:
            peak = max(peak, int(match.group(1)))
    return peak / 1024


class Backend:
    def __init__(self, name: str, workdir: Path, database_url: str, broker_url: str | None):
        self.name, self.workdir = name, workdir
        self.database_url, self.broker_url = database_url, broker_url
        #: more environment for its processes (providers' settings)
        self.extra_env: dict[str, str] = {}
        sa_url = database_url.replace("postgresql://", "postgresql+psycopg://")
        self.engine = create_engine(sa_url)

    @contextmanager
    def more_env(self, env: Mapping[str, str]) -> Iterator[None]:
        """Give the processes it starts within the block ``env`` as well."""
        kept = self.extra_env
        self.extra_env = {**kept, **env}
        try:
            yield
        finally:
            self.extra_env = kept

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("EMAILHOOK_", "CELERY_"))}
        env.update(EMAILHOOK_DATA_DIR=str(self.workdir / "var"), DATABASE_URL=self.database_url)
        if self.broker_url:
            env["CELERY_BROKER_URL"] = self.broker_url
        env.update(self.extra_env)
        return env

    def spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        with (self.workdir / f"{name}.log").open("ab") as log:
            return subprocess.Popen(
                [sys.executable, *args],
                cwd=REPO,
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def count(self, sql_model: Any, *where: Any) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(select(func.count()).select_from(sql_model).where(*where)).scalar_one()
            )

    def pending(self) -> int:
        return self.count(InboxBody, InboxBody.state == "pending")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            process.wait(30)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


#: the Flask app's factory (behind the webhook front under `emailhook serve`)
APP = "emailhook:create_app"


def server_args(server: str, target: str, port: int) -> list[str]:
    """How ``server`` serves ``target`` (a factory) in the processes and threads of SERVE;
    ``serve`` is `emailhook serve` (uvicorn and the webhook front in front of ``APP``)."""
    workers, threads = str(SERVE["workers"]), str(SERVE["threads"])
    if server == "serve":
        args = ["-m", "emailhook", "serve", "--port", str(port)]
        return [*args, "--workers", workers, "--threads", threads]
    if server == "granian":  # a Flask app alone (the ceiling): granian's WSGI, blocking threads
        args = ["-m", "granian", "--interface", "wsgi", "--factory", "--host", "127.0.0.1"]
        args += ["--port", str(port), "--workers", workers, "--blocking-threads", threads]
        return [*args, "--no-access-log", target]
    if server == "gunicorn":  # the other candidate: gthread workers, the same processes and threads
        args = ["-m", "gunicorn", "--worker-class", "gthread", "--workers", workers]
        args += ["--threads", threads, "--bind", f"127.0.0.1:{port}", "--log-level", "warning"]
        return [*args, f"{target}()"]
    raise ValueError(server)


@contextmanager
def web(
    backend: Backend, target: str = APP, server: str = "serve"
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    process = backend.spawn("web", server_args(server, target, port))

    def ready() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(ready, 30, "web server")
        # /healthz answers once one server process is up; each imports the app after it
        # starts, so the others may still be starting. Two seconds of GETs (nothing stored)
        # let every process be serving before a measure begins.
        subprocess.run(
            ["wrk", "-t1", "-c8", "-d2s", f"http://127.0.0.1:{port}/healthz"],
            capture_output=True,
            check=True,
        )
        yield port, process
    finally:
        stop(process)


@contextmanager
def worker(
    backend: Backend, name: str = "worker", concurrency: int = 2
) -> Iterator[subprocess.Popen[bytes]]:
    """A worker of ``concurrency`` processes (``name``: its log and Celery node name, for
    several at once)."""
    log = backend.workdir / f"{name}.log"
    # The log is appended to by every worker of the run: only this worker's lines count, or
    # a later drain's clock would start while its worker is still starting.
    start = log.stat().st_size if log.exists() else 0
    args = ["-m", "emailhook", "worker", "--concurrency", str(concurrency), "-n", f"{name}@%h"]
    process = backend.spawn(name, args)

    def ready() -> bool:
        with log.open("rb") as lines:
            lines.seek(start)
            return b"ready." in lines.read()

    try:
        wait_for(ready, 60, "worker")
        yield process
    finally:
        stop(process)


def wrk(
    port: int,
    body: Path,
    seconds: int,
    connections: int,
    path: str = "/email",
    headers: Path | None = None,
) -> dict[str, float]:
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(REPO / "bench" / "post.lua"),
            f"http://127.0.0.1:{port}{path}",
        ],
        env={**os.environ, "BODY": str(body), "HEADERS": str(headers or "")},
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def latency(pct: str) -> float:
        value, unit = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "non_2xx": float(errors.group(1)) if errors else 0.0,
    }


def tracking_body(event_id: str) -> bytes:
    return json.dumps(
        {
            "notificationType": "OPENED",
            "eventId": event_id,
            "recipient": f"{event_id}@example.com",
            "messageId": f"m-{event_id}",
            "callbackData": json.dumps({"qj_contact_id": 7}),
            "sendDateTime": 1721161444325,
        }
    ).encode()


def batch_body(tag: str, size: int) -> bytes:
    seed = json.loads(SEED.read_text())["results"][0]
    results = [dict(seed, messageId=f"{tag}-{i}", to=f"{tag}-{i}@example.com") for i in range(size)]
    return json.dumps({"results": results}).encode()


def fill_backlog(
    backend: Backend,
    bodies: list[bytes],
    events_each: int,
    shape: str,
    provider: tuple[str, str | None] = ("infobip", None),
) -> None:
    """Put ``bodies`` in the inbox as the intake keeps them; ``provider``: (name, type)."""
    now = datetime.now(UTC)
    rows = [
        {
            "body": b,
            "shape": shape,
            "event_count": events_each,
            "state": "pending",
            "received_at": now,
            "available_at": now,
            "deliveries": 0,
            "attempts": 0,
            "provider": provider[0],
            "content_type": provider[1],
        }
        for b in bodies
    ]
    with backend.engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(insert(table_of(InboxBody)), rows[start : start + 5000])


def drain(
    backend: Backend,
    bodies: list[bytes],
    events_each: int,
    shape: str,
    provider: tuple[str, str | None] = ("infobip", None),
) -> dict[str, float]:
    before = backend.count(EmailCallback)
    fill_backlog(backend, bodies, events_each, shape, provider)
    with worker(backend) as process:
        started = time.monotonic()
        wait_for(lambda: backend.pending() == 0, 900, "backlog drained")
        elapsed = time.monotonic() - started
        rss = peak_rss_mb(process.pid)
    stored = backend.count(EmailCallback) - before
    return {
        "events": stored,
        "seconds": elapsed,
        "events_per_s": stored / elapsed,
        "worker_rss_mb": rss,
    }


def provider_figures(backend: Backend, args: argparse.Namespace) -> dict[str, Any]:
    """Ingest and drain of each provider workload (bench/providers.py) on ``backend``."""
    sys.path.insert(0, str(REPO))
    from bench.providers import WORKLOADS, Senders
    from support.signing import local_server

    figures: dict[str, Any] = {}
    with local_server() as sns:
        senders = Senders(sns.base_url)
        sns.routes.update(senders.routes())
        with backend.more_env(senders.env()), web(backend) as (port, _):
            for load in WORKLOADS:
                post = load.post(senders)
                body = backend.workdir / f"{load.provider}.body"
                body.write_bytes(post.body)
                headers = backend.workdir / f"{load.provider}.headers"
                headers.write_text("".join(f"{k}: {v}\n" for k, v in post.headers.items()))
                measured = wrk(port, body, args.seconds, args.connections, post.path, headers)
                measured["events_per_s"] = measured["rps"] * load.events
                figures[load.provider] = {"label": load.label, "ingest": measured}
    SpoolPromoter(backend.engine, backend.workdir / "var" / "spool").adopt_orphans()
    with backend.engine.begin() as conn:  # the ingest bodies are not part of the drains
        conn.execute(InboxBody.__table__.delete())
    for load in WORKLOADS:
        count = max(20, args.provider_drain_events // load.events)
        bodies = [load.body(n) for n in range(count)]
        kind = (load.provider, load.content_type)
        figures[load.provider]["drain"] = drain(backend, bodies, load.events, "provider", kind)
    return figures


def sustained(
    backend: Backend, rate: float, seconds: float, alongside: list[str] | None = None
) -> dict[str, float]:
    """The sustained load; ``alongside``: a command run meanwhile (``emailhook prune``)."""
    with web(backend) as (port, web_process), worker(backend) as worker_process:
        body = backend.workdir / "sustained.json"
        body.write_bytes(tracking_body("sustained"))  # one event, the same key: size is what counts
        started = time.monotonic()
        beside = backend.spawn("alongside", alongside) if alongside else None
        result = json.loads(
            subprocess.run(
                [
                    sys.executable,
                    str(REPO / "bench" / "loadgen.py"),
                    "--port",
                    str(port),
                    "--rate",
                    str(rate),
                    "--seconds",
                    str(seconds),
                    "--body",
                    str(body),
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        ended = time.monotonic()
        if beside is not None:
            result["alongside_rc"] = beside.wait(timeout=600)
            result["alongside_s"] = time.monotonic() - started
        # Nothing pending in the inbox and nothing left in the spool (whoever moves it).
        spool = backend.workdir / "var" / "spool"
        wait_for(
            lambda: spool_backlog(backend.engine, spool)[1] == 0 and backend.pending() == 0,
            300,
            "backlog after the load",
        )
        result["backlog_zero_after_s"] = time.monotonic() - ended
        result["web_rss_mb"] = peak_rss_mb(web_process.pid)
        result["worker_rss_mb"] = peak_rss_mb(worker_process.pid)
    return result


@contextmanager
def backends(which: list[str], root: Path) -> Iterator[list[Backend]]:
    made: list[Backend] = []
    databases: list[str] = []
    admin = os.environ.get(
        "EMAILHOOK_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    try:
        for name in which:
            workdir = root / name
            workdir.mkdir(parents=True)
            if name == "sqlite":
                made.append(
                    Backend(name, workdir, f"sqlite:///{workdir / 'var' / 'emailhook.db'}", None)
                )
                continue
            database = f"emailhook_bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{database}"')
            databases.append(database)
            broker = os.environ.get("EMAILHOOK_BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
            redis.Redis.from_url(broker).flushdb()
            made.append(Backend(name, workdir, f"{admin.rsplit('/', 1)[0]}/{database}", broker))
        yield made
    finally:
        for backend in made:
            backend.engine.dispose()
        with psycopg.connect(admin, autocommit=True) as conn:
            for database in databases:
                conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def migrate(backend: Backend) -> None:
    subprocess.run(
        [sys.executable, "-m", "emailhook", "db", "upgrade"],
        env=backend.env(),
        cwd=REPO,
        check=True,
        capture_output=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backends", default="sqlite,postgres+redis")
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--drain-bodies", type=int, default=50_000)
    parser.add_argument("--rate", type=float, default=1500)
    parser.add_argument("--sustained-seconds", type=float, default=20)
    parser.add_argument(
        "--prune-bodies", type=int, default=200_000, help="old bodies the prune phase deletes"
    )
    parser.add_argument(
        "--provider-drain-events", type=int, default=20_000, help="events per provider drain"
    )
    parser.add_argument(
        "--send-rate",
        type=float,
        default=5,
        help="EMAILHOOK_INFOBIP_SEND_RATE of the send phase (requests a second)",
    )
    parser.add_argument(
        "--send-seconds", type=float, default=20, help="seconds of sending at the limit"
    )
    parser.add_argument(
        "--mailjet-send-rate",
        type=float,
        default=10,
        help="EMAILHOOK_MAILJET_SEND_RATE of the two_providers phase (Infobip's: --send-rate)",
    )
    parser.add_argument(
        "--two-send-seconds",
        type=float,
        default=15,
        help="seconds of sending at both limits in the two_providers phase",
    )
    parser.add_argument(
        "--two-send-workers",
        type=int,
        default=2,
        help="workers (one process each) of the two_providers phase",
    )
    parser.add_argument(
        "--campaign-recipients",
        type=int,
        default=1_000_000,
        help="recipients of the campaign phase's upload",
    )
    parser.add_argument(
        "--campaign-send-seconds",
        type=float,
        default=20,
        help="seconds the campaign phase's workers send (at --send-rate)",
    )
    parser.add_argument(
        "--phases",
        default=",".join(PHASES),
        help=f"what to measure, of {','.join(PHASES)} (A/B drains: --phases drain;"
        " the providers' figures beside Infobip's ingest: --phases ingest,providers)",
    )
    args = parser.parse_args()
    phases = set(args.phases.split(","))
    if phases - set(PHASES):
        parser.error(f"unknown phases: {sorted(phases - set(PHASES))}")
    if not shutil.which("wrk"):
        print("installing wrk (Debian package)", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "serve": SERVE,
    }
    with tempfile.TemporaryDirectory(prefix="emailhook-bench-") as tmp:
        root = Path(tmp)
        if "ceiling" in phases:
            with (
                backends(["sqlite"], root / "ceiling") as (ceiling_backend,),
                web(ceiling_backend, "bench.ceiling:create_app", "granian") as (port, process),
            ):
                report["ceiling"] = wrk(port, SEED, args.seconds, args.connections)
                report["ceiling"]["web_rss_mb"] = peak_rss_mb(process.pid)
        if "servers" in phases:
            report["servers"] = compare_servers(root / "servers", args)
        for name in args.backends.split(","):
            with backends([name], root / name) as (backend,):
                migrate(backend)
                report[name] = measure_backend(backend, report, args, phases)
    out = RESULTS / "latest.json"
    out.write_text(json.dumps(report, indent=2))
    print(render(report, args.backends.split(",")))
    if "providers" in phases:
        print()
        print(render_providers(report, args.backends.split(",")))
    if "send" in phases:
        from bench.sending import render as render_send

        print()
        print(render_send(report, args.backends.split(",")))
    if "two_providers" in phases:
        from bench.two_providers import render as render_two

        print()
        print(render_two(report, args.backends.split(",")))
    if "campaign" in phases:
        from bench.campaign import render as render_campaign

        print()
        print(render_campaign(report, args.backends.split(",")))
    print(f"\nfigures written to {out.relative_to(REPO)}")


#: what ``make bench`` measures, in this order
PHASES = (
    "ceiling",
    "servers",
    "ingest",
    "drain",
    "sustained",
    "prune",
    "providers",
    "send",
    "two_providers",
    "campaign",
)


def ingest(backend: Backend, report: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """POST /email for ``args.seconds`` with no worker: req/s, latency, web RSS, share of
    the ceiling, and how many bodies were accepted (then taken out of the inbox)."""
    with web(backend) as (port, process):
        figures: dict[str, Any] = wrk(port, SEED, args.seconds, args.connections)
        figures["web_rss_mb"] = peak_rss_mb(process.pid)
    if "ceiling" in report:
        figures["ratio"] = figures["rps"] / report["ceiling"]["rps"]
    # What the stopped web processes left in their spool goes into the inbox as the
    # worker's sweep would move it: counted as accepted, kept out of the drain.
    SpoolPromoter(backend.engine, backend.workdir / "var" / "spool").adopt_orphans()
    figures["accepted"] = backend.count(InboxBody)
    with backend.engine.begin() as conn:  # the ingest bodies are not part of the drain
        conn.execute(InboxBody.__table__.delete())
    return figures


def measure_backend(
    backend: Backend, report: dict[str, Any], args: argparse.Namespace, phases: set[str]
) -> dict[str, Any]:
    """Return the ingest, drain and sustained figures of one backend (those in ``phases``)."""
    figures: dict[str, Any] = {}
    if "ingest" in phases:
        figures["ingest"] = ingest(backend, report, args)
        if backend.name != "sqlite":
            # The web of a machine whose worker moves its spool (`auto` while a worker runs
            # there), the worker stopped as above: what the web alone answers, as on SQLite.
            with backend.more_env({"EMAILHOOK_SPOOL_MOVER": "worker"}):
                figures["ingest_worker_moves"] = ingest(backend, report, args)
    if "drain" in phases:
        run = uuid.uuid4().hex[:6]
        figures["drain_single"] = drain(
            backend,
            [tracking_body(f"{run}-{i}") for i in range(args.drain_bodies)],
            1,
            "tracking_event",
        )
        figures["drain_batch"] = drain(
            backend,
            [batch_body(f"{run}-b{i}", 100) for i in range(500)],
            100,
            "delivery_reports",
        )
    if "sustained" in phases:
        figures["sustained"] = sustained(backend, args.rate, args.sustained_seconds)
    if "prune" in phases:
        figures.update(prune_figures(backend, args))
    if "providers" in phases:
        figures["providers"] = provider_figures(backend, args)
    if "send" in phases:
        sys.path.insert(0, str(REPO))
        from bench.sending import send_figures

        figures["send"] = send_figures(backend, args, web, worker, wrk)
    if "two_providers" in phases:
        sys.path.insert(0, str(REPO))
        from bench.two_providers import two_provider_figures

        figures["two_providers"] = two_provider_figures(backend, args, web, worker)
    if "campaign" in phases:
        sys.path.insert(0, str(REPO))
        from bench.campaign import campaign_figures

        figures["campaign"] = campaign_figures(backend, args, web, worker)
    return figures


#: processed this long ago, a body is past the default retention (7 days)
OLD = datetime(2020, 1, 1, tzinfo=UTC)


def prune_figures(backend: Backend, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """The sustained load twice, back to back: alone, then while ``emailhook prune`` deletes
    ``--prune-bodies`` old processed bodies beside it (500 a transaction, the default pause).

    The worker's own periodic prune is off in both runs (``EMAILHOOK_PRUNE_INTERVAL_MINUTES=0``),
    so that only the command prunes, and only in the second.
    """
    done = [tracking_body(f"old-{n}") for n in range(args.prune_bodies)]
    rows = [
        {
            "body": b,
            "shape": "tracking_event",
            "event_count": 1,
            "state": "done",
            "received_at": OLD,
            "available_at": OLD,
            "processed_at": OLD,
            "stored_events": 1,
            "deliveries": 1,
            "attempts": 0,
        }
        for b in done
    ]
    with backend.engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(insert(table_of(InboxBody)), rows[start : start + 5000])
    if backend.database_url.startswith("postgresql"):
        with backend.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM ANALYZE inbox_body"
            )
    with backend.more_env({"EMAILHOOK_PRUNE_INTERVAL_MINUTES": "0"}):
        alone = sustained(backend, args.rate, args.sustained_seconds)
        beside = sustained(
            backend, args.rate, args.sustained_seconds, alongside=["-m", "emailhook", "prune"]
        )
    beside["pruned_left"] = backend.count(InboxBody, InboxBody.processed_at == OLD)
    return {"sustained_alone": alone, "sustained_prune": beside}


def compare_servers(root: Path, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """Ceiling and ingest (embedded default) under each candidate server, back to back: the
    WSGI servers serve the Flask app alone, ``emailhook serve`` its webhook front."""
    figures: dict[str, dict[str, float]] = {}
    with backends(["sqlite"], root) as (backend,):
        migrate(backend)
        for server in ("granian", "gunicorn"):
            with web(backend, "bench.ceiling:create_app", server) as (port, _):
                ceiling = wrk(port, SEED, args.seconds, args.connections)
            with web(backend, APP, server) as (port, _):
                ingest = wrk(port, SEED, args.seconds, args.connections)
            figures[f"{server}, the Flask app alone"] = {
                "ceiling_rps": ceiling["rps"],
                "ingest_rps": ingest["rps"],
                "ingest_p99_ms": ingest["p99_ms"],
            }
        with web(backend) as (port, _):
            ingest = wrk(port, SEED, args.seconds, args.connections)
        figures["emailhook serve (uvicorn, the webhook front)"] = {
            "ceiling_rps": float("nan"),
            "ingest_rps": ingest["rps"],
            "ingest_p99_ms": ingest["p99_ms"],
        }
    return figures


def _count(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.0f}"


def _rps(figures: dict[str, float]) -> str:
    return "{rps:.0f} ({p50_ms:.1f}/{p99_ms:.1f})".format(**figures)


#: (label, how to show one backend's figures) for each row of the table
ROWS: list[tuple[str, Any]] = [
    ("ingest: POST /email req/s (p50/p99 ms)", lambda f: _rps(f["ingest"])),
    ("ingest / ceiling", lambda f: f"{f['ingest']['ratio']:.0%}"),
    (
        "ingest, the spool left to the machine's worker: req/s (p50/p99 ms)",
        lambda f: _rps(f["ingest_worker_moves"]),
    ),
    (
        "ingest, the spool left to the machine's worker / ceiling",
        lambda f: f"{f['ingest_worker_moves']['ratio']:.0%}",
    ),
    ("drain: 50k one-event bodies, events/s", lambda f: f"{f['drain_single']['events_per_s']:.0f}"),
    (
        "drain: 500 x 100-event bodies, events/s",
        lambda f: f"{f['drain_batch']['events_per_s']:.0f}",
    ),
    (
        "sustained: offered / achieved req/s",
        lambda f: "{offered_rate:.0f} / {achieved_rate:.0f}".format(**f["sustained"]),
    ),
    (
        "sustained: p50 / p99 / max ms",
        lambda f: "{p50_ms:.1f} / {p99_ms:.1f} / {max_ms:.0f}".format(**f["sustained"]),
    ),
    (
        "sustained: backlog zero after load, s",
        lambda f: "{backlog_zero_after_s:.2f}".format(**f["sustained"]),
    ),
    (
        "sustained, just before the prune: p50 / p99 / max ms",
        lambda f: "{p50_ms:.1f} / {p99_ms:.1f} / {max_ms:.0f}".format(**f["sustained_alone"]),
    ),
    (
        "sustained with a prune beside: p50 / p99 / max ms",
        lambda f: "{p50_ms:.1f} / {p99_ms:.1f} / {max_ms:.0f}".format(**f["sustained_prune"]),
    ),
    (
        "the prune beside: seconds, bodies left",
        lambda f: "{alongside_s:.1f} s, {pruned_left}".format(**f["sustained_prune"]),
    ),
    (
        "peak RSS web / worker (50k drain), MB",
        lambda f: f"{f['ingest']['web_rss_mb']:.0f} / {f['drain_single']['worker_rss_mb']:.0f}",
    ),
]


def _shown(show: Any, report: dict[str, Any], name: str) -> str:
    """Return a cell, or "-" for a figure of a phase that did not run."""
    try:
        return str(show(report[name]))
    except (KeyError, TypeError):
        return "-"


def render(report: dict[str, Any], names: list[str]) -> str:
    blanks = " |" * (len(names) - 1)
    lines = [
        f"machine: {report['machine']}; emailhook serve (uvicorn), "
        f"{report['serve']['workers']} processes x {report['serve']['threads']} Flask threads; "
        "ceiling: granian's WSGI, the same processes and threads",
        "",
        "| measure | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
        f"| ceiling: bare Flask req/s (p50/p99 ms) | {_shown(_rps, report, 'ceiling')} |{blanks}",
    ]
    lines += [
        f"| {label} | " + " | ".join(_shown(show, report, n) for n in names) + " |"
        for label, show in ROWS
    ]
    lines += ["", "| server (embedded default) | ceiling req/s | ingest req/s | ingest p99 ms |"]
    lines += ["|---|---|---|---|"]
    lines += [
        f"| {server} | {_count(f['ceiling_rps'])} | {f['ingest_rps']:.0f} "
        f"| {f['ingest_p99_ms']:.1f} |"
        for server, f in report.get("servers", {}).items()
    ]
    return "\n".join(lines)


def render_providers(report: dict[str, Any], names: list[str]) -> str:
    """The providers' table: req/s and events/s accepted (p99), events/s stored."""
    lines = [
        "| body | "
        + " | ".join(f"{n} ingest req/s (events/s, p99 ms)" for n in names)
        + " | "
        + " | ".join(f"{n} drain events/s" for n in names)
        + " |",
        "|---|" + "---|" * (2 * len(names)),
    ]
    first = report[names[0]]
    infobip = [
        "{rps:.0f} ({rps:.0f}, {p99_ms:.1f})".format(**report[n]["ingest"])
        if "ingest" in report[n]
        else "-"
        for n in names
    ]
    single = [
        f"{report[n]['drain_single']['events_per_s']:.0f}" if "drain_single" in report[n] else "-"
        for n in names
    ]
    lines.append("| Infobip report (seed delivered.json) | " + " | ".join(infobip + single) + " |")
    for provider, figures in first["providers"].items():
        ingest = [
            "{rps:.0f} ({events_per_s:.0f}, {p99_ms:.1f})".format(
                **report[n]["providers"][provider]["ingest"]
            )
            for n in names
        ]
        drained = [
            f"{report[n]['providers'][provider]['drain']['events_per_s']:.0f}" for n in names
        ]
        lines.append(f"| {figures['label']} | " + " | ".join(ingest + drained) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
