"""Cost as the data grows: drain, API queries, dashboard pages and bytes per event at each size.

    .venv/bin/python bench/growth.py                         # PostgreSQL to 10M, SQLite to 2M
    .venv/bin/python bench/growth.py --postgres-sizes 0,1000000 --sqlite-sizes 0,1000000
    make bench-growth

The database is filled with bench/workload.py's seed mix stored as the worker stores it:
bodies added to the inbox (pending), then the Processor's own store (``Processor._store``:
``event_store``, derived state, rollup, ``mark_done``, one transaction per 5,000 events) with
the events the parser gives for those bodies, built from each seed's parsed event instead of
parsing every copy (``workload.check_fast_events`` compares them with ``parse_body``'s on
2,000 bodies first). At each size:

- drain: a fixed backlog (``--backlog`` events of the same mix) is added to the inbox first,
  then drained by the Processor; events/s over the drain alone;
- each API query and dashboard page through the Flask test client (JSON or HTML built, as a
  browser gets it), ``--calls`` times with keys sampled from the stored rows; p50 and p99;
- bytes per event (bench/bytes.py's measure).

PostgreSQL uses the database ``growth_run_<pid>``, dropped at the end (``--keep NAME`` keeps
a growth_* database, ``--reuse`` goes on filling it; ``--pair-with NAME`` only alternates
drains into an empty database and into NAME). Results are printed and written to
bench/results/growth-<database>.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from bytes import (
    create_postgres_database,
    postgres_database,
    postgres_sizes,
    postgres_url,
    sqlite_sizes,
)
from sqlalchemy import func, select
from workload import (
    DAYS,
    MIX,
    RELAY_BODIES,
    RELAY_EVENTS,
    START,
    Body,
    Mix,
    check_fast_events,
)

from emailhook import create_app
from emailhook.adapters.db.engine import Database, open_database
from emailhook.adapters.db.models import EmailCallback
from emailhook.adapters.inbox import bodies as inbox
from emailhook.composition.policies import retry_policy, soft_bounce_rule
from emailhook.domain.events import EmailEvent, ParsedBody, Shape
from emailhook.domain.inbox import BodyState, PendingBody
from emailhook.service.receive.processing import Outcome, Processor, _Parsed
from emailhook.settings import Settings

API = "/email-callbacks"
RESULTS = Path(__file__).resolve().parent / "results"


def fast_fill(database: Database, mix: Mix, events: int, label: str) -> float:
    """Store ``events`` as the worker stores them, without parsing; return events/s.

    Bodies go into the inbox (pending, as the web leaves them); then the Processor's own
    store (``Processor._store``: ``event_store``, derived state, rollup, platform events,
    ``mark_done`` in one transaction) takes them with the events the parser would give
    (``workload.check_fast_events`` checks that first), 5,000 events a batch.
    """
    processor = Processor(
        database.sessions, retry_policy(Settings()), soft_bounces=soft_bounce_rule(Settings())
    )
    source = mix.bodies_with_events()
    started, stored, last = time.perf_counter(), 0, 0.0
    while stored < events:
        batch: list[tuple[Body, list[EmailEvent]]] = []
        in_batch = 0
        while in_batch < RELAY_EVENTS and stored + in_batch < events:
            body, found = next(source)
            batch.append((body, found))
            in_batch += body.events
        with database.sessions.begin() as session:
            ids = inbox.add_bodies(
                session,
                [
                    inbox.NewBody(b.raw, b.shape, b.events, BodyState.PENDING, b.received_at, None)
                    for b, _ in batch
                ],
            )
        parsed = [
            _Parsed(PendingBody(i, b.raw, b.received_at, 0, None), ParsedBody(Shape(b.shape), e))
            for i, (b, e) in zip(ids, batch, strict=True)
        ]
        processor._store(parsed, Outcome())
        stored += in_batch
        now = time.perf_counter()
        if now - last > 10 or stored >= events:
            last = now
            rate = stored / (now - started)
            print(f"  {label}: {stored:>11,} / {events:,} events, {rate:,.0f} events/s", flush=True)
    return stored / (time.perf_counter() - started)


def timed_drain(database: Database, mix: Mix, events: int) -> float:
    """Add a backlog of ``events`` to the inbox, then drain it with the Processor; events/s."""
    backlog, total, source = [], 0, mix.bodies()
    while total < events:
        body = next(source)
        backlog.append(body)
        total += body.events
    ids: list[int] = []
    for start in range(0, len(backlog), 2000):
        with database.sessions.begin() as session:
            ids += inbox.add_bodies(
                session,
                [
                    inbox.NewBody(b.raw, b.shape, b.events, BodyState.PENDING, b.received_at, None)
                    for b in backlog[start : start + 2000]
                ],
            )
    processor = Processor(
        database.sessions, retry_policy(Settings()), soft_bounces=soft_bounce_rule(Settings())
    )
    started, batch, in_batch = time.perf_counter(), [], 0
    for body_id, body in zip(ids, backlog, strict=True):
        batch.append(body_id)
        in_batch += body.events
        if len(batch) >= RELAY_BODIES or in_batch >= RELAY_EVENTS:
            processor.process(batch)
            batch, in_batch = [], 0
    if batch:
        processor.process(batch)
    return total / (time.perf_counter() - started)


def sample_keys(database: Database, n: int = 300) -> tuple[list[int], list[str], int]:
    """Return contacts and message ids of random stored events, and the highest event id."""
    with database.sessions() as session:
        top = int(session.execute(select(func.max(EmailCallback.id))).scalar() or 0)
        rnd = random.Random(3)
        ids = [rnd.randrange(1, top + 1) for _ in range(n)] if top else []
        rows = session.execute(
            select(EmailCallback.qj_contact_id, EmailCallback.id_externo).where(
                EmailCallback.id.in_(ids)
            )
        ).all()
    contacts = [int(c) for c, _ in rows if c is not None] or [1]
    messages = [str(m) for _, m in rows if m] or ["none"]
    return contacts, messages, top


def cases(
    settings: Settings, database: Database, filled: int
) -> list[tuple[str, Callable[[], str]]]:
    contacts, messages, _ = sample_keys(database)
    rnd = random.Random(11)
    span_hours = max(1, int(DAYS * 24 * min(1.0, filled / max(1, TOTAL[0]))))

    def window() -> str:
        start = START + timedelta(hours=rnd.randrange(0, span_hours))
        end = start + timedelta(hours=1)
        return f"since={start:%Y-%m-%dT%H:%MZ}&until={end:%Y-%m-%dT%H:%MZ}"

    month = f"since={START:%Y-%m-%dT%H:%MZ}&until={START + timedelta(days=DAYS):%Y-%m-%dT%H:%MZ}"
    day = START + timedelta(hours=span_hours // 2)
    one_day = f"since={day:%Y-%m-%dT00:00Z}&until={day + timedelta(days=1):%Y-%m-%dT00:00Z}"
    return [
        ("api /email-callbacks?qj_contact_id=", lambda: f"{API}?qj_contact_id={rnd.choice(contacts)}"),  # noqa: E501
        ("api /email-callbacks?id_externo=", lambda: f"{API}?id_externo={rnd.choice(messages)}"),
        ("api /contacts/<id>", lambda: f"/contacts/{rnd.choice(contacts)}"),
        ("api /suppressions", lambda: "/suppressions"),
        ("api /email-callbacks?since&until (1 h)", lambda: f"/email-callbacks?{window()}"),
        ("page / one day, hourly", lambda: f"/?{one_day}&bucket=hour"),
        ("page / 30 days, daily", lambda: f"/?{month}&bucket=day"),
        ("page /dashboard/campaigns 30 days", lambda: f"/dashboard/campaigns?{month}"),
        ("page /dashboard/events", lambda: "/dashboard/events"),
        ("page /dashboard/contact?q=<id>", lambda: f"/dashboard/contact?q={rnd.choice(contacts)}"),
        ("page /dashboard/suppressions", lambda: "/dashboard/suppressions"),
        ("page /dashboard/pipeline", lambda: "/dashboard/pipeline"),
    ]  # fmt: skip


#: the size of the whole run, for spreading receipt times over 30 days
TOTAL = [1]


def time_requests(
    settings: Settings, database: Database, filled: int, calls: int
) -> dict[str, Any]:
    client = create_app(settings).test_client()
    quiet()
    found: dict[str, Any] = {}
    for name, url in cases(settings, database, filled):
        durations, errors = [], 0
        for n in range(calls + 2):
            started = time.perf_counter()
            response = client.get(url())
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code not in (200, 404):
                errors += 1  # a query past EMAILHOOK_QUERY_TIMEOUT_SECONDS: counted, timed
            if n >= 2:  # two to warm caches and the pool
                durations.append(elapsed)
        durations.sort()
        p99 = durations[min(len(durations) - 1, int(len(durations) * 0.99))]
        found[name] = {"p50": statistics.median(durations), "p99": p99, "errors": errors}
        failed = f"   {errors} errors" if errors else ""
        print(
            f"    {name:<44} p50 {found[name]['p50']:>8.1f} ms   p99 {p99:>8.1f} ms{failed}",
            flush=True,
        )
    return found


def bytes_per_event(database: Database, dialect: str, path: Path | None) -> dict[str, float]:
    events = count(database)
    if dialect == "postgresql":
        sizes = postgres_sizes(database.engine)
    else:
        assert path is not None
        _, sizes = sqlite_sizes(str(path))
    total = sum(parts["total"] for parts in sizes.values())
    body = sizes.get("inbox_body", {}).get("total", 0)
    return {"all": total / events, "without_inbox": (total - body) / events}


def count(database: Database) -> int:
    with database.sessions() as session:
        return int(session.execute(select(func.count()).select_from(EmailCallback)).scalar_one())


def quiet() -> None:
    """Keep the worker's per-batch lines out of the figures (the worker logs them at INFO)."""
    logging.getLogger("emailhook").setLevel(logging.WARNING)


def run(settings: Settings, sizes: list[int], args: argparse.Namespace, name: str) -> list[Any]:
    database = open_database(settings, lock_timeout_seconds=30)
    quiet()
    dialect = database.engine.dialect.name
    path = None if dialect == "postgresql" else Path(database.engine.url.database or "")
    TOTAL[0] = max(sizes) + len(sizes) * args.backlog
    already = count(database)
    # Going on from a kept database: other random ids, receipt times going on from there.
    mix, rows = Mix(seed=42 + already, total=TOTAL[0]), []
    mix.produced = mix.message = already
    print(f"\n{name}: {MIX}", flush=True)
    for size in sizes:
        have = count(database)
        if size > have:
            started = time.perf_counter()
            fast_fill(database, mix, size - have, label=f"fill to {size:,}")
            print(f"  filled to {count(database):,} in {time.perf_counter() - started:.0f} s")
        if dialect == "postgresql":
            with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.exec_driver_sql("VACUUM ANALYZE")
        at = count(database)
        load = os.getloadavg()[0]
        rate = timed_drain(database, mix, args.backlog)
        print(
            f"  at {at:,} events: drain {rate:,.0f} events/s ({args.backlog:,} backlog),"
            f" load average {load:.1f} -> {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        requests = time_requests(settings, database, at, args.calls)
        stored = bytes_per_event(database, dialect, path) if at else {}
        print(f"    bytes per event: {stored}", flush=True)
        rows.append(
            {"events": at, "drain": rate, "load": load, "requests": requests, "bytes": stored}
        )
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"growth-{name}.json").write_text(json.dumps(rows, indent=2))
    database.engine.dispose()
    return rows


def blocks(database: Database) -> tuple[int, int]:
    """Return the blocks this database read from outside shared buffers, and found in them."""
    with database.engine.connect() as conn:
        read, hit = conn.exec_driver_sql(
            "SELECT blks_read, blks_hit FROM pg_stat_database WHERE datname = current_database()"
        ).one()
    return int(read), int(hit)


def paired_drains(kept: str, rounds: int, backlog: int) -> None:
    """Drain the same backlog into an empty database and into ``kept``, alternately.

    The machine is shared: back-to-back pairs compare the two sizes under the same load.
    """
    quiet()
    with postgres_database(f"growth_pair_{os.getpid()}") as empty_url:
        folder = Path(tempfile.mkdtemp(prefix="growth-pair-"))
        empty = open_database(
            Settings(database_url=empty_url, data_dir=folder), lock_timeout_seconds=30
        )
        full_url = postgres_url(kept)
        full = open_database(
            Settings(database_url=full_url, data_dir=folder), lock_timeout_seconds=30
        )
        quiet()
        size = count(full)
        mix = Mix(seed=7 + size, total=size)
        mix.produced = mix.message = size
        for n in range(rounds):
            before = blocks(empty), blocks(full)
            small = timed_drain(empty, Mix(seed=1000 + n, total=backlog * rounds), backlog)
            large = timed_drain(full, mix, backlog)
            (read0, hit0), (read1, hit1) = (
                [now - then for now, then in zip(blocks(db), was, strict=True)]
                for db, was in zip((empty, full), before, strict=True)
            )
            print(
                f"  pair {n + 1}: empty {small:,.0f} events/s, {size:,} events {large:,.0f}"
                f" events/s: {large / small:.0%} (load {os.getloadavg()[0]:.1f});"
                f" blocks read / hit per event: {read0 / backlog:.1f} / {hit0 / backlog:.0f}"
                f" against {read1 / backlog:.1f} / {hit1 / backlog:.0f}",
                flush=True,
            )
        empty.engine.dispose()
        full.engine.dispose()


def sqlite_cache_pairs(folder: Path, caches: list[int], rounds: int, backlog: int) -> None:
    """For each page cache of ``caches`` (MiB, ``EMAILHOOK_SQLITE_CACHE_MB``) in turn, drain
    the same backlog into an empty SQLite database and into the one in ``folder``, ``rounds``
    times: the drain's ratio at that size, and what the cache changes, in one sitting."""
    empty_folder = Path(tempfile.mkdtemp(prefix="growth-sqlite-empty-"))
    pairs = [
        tuple(
            open_database(Settings(data_dir=where, sqlite_cache_mb=mb), lock_timeout_seconds=30)
            for where in (empty_folder, folder)
        )
        for mb in caches
    ]
    quiet()
    size = count(pairs[0][1])
    mix = Mix(seed=11 + size, total=size + backlog * rounds * len(caches) * 2)
    mix.produced = mix.message = size
    for n in range(rounds):
        for mb, (empty, full) in zip(caches, pairs, strict=True):
            small = timed_drain(empty, Mix(seed=2000 + n * 10 + mb, total=backlog), backlog)
            large = timed_drain(full, mix, backlog)
            print(
                f"  round {n + 1}, page cache {mb} MiB: empty {small:,.0f} events/s,"
                f" {size:,} events {large:,.0f} events/s: {large / small:.0%}"
                f" (load {os.getloadavg()[0]:.1f})",
                flush=True,
            )
    for pair in pairs:
        for db in pair:
            db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--postgres-sizes", default="0,1000000,5000000,10000000")
    parser.add_argument("--sqlite-sizes", default="0,1000000,2000000")
    parser.add_argument("--backlog", type=int, default=20_000)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--keep", help="PostgreSQL: fill this growth_* database and keep it")
    parser.add_argument("--reuse", action="store_true", help="with --keep: go on filling it")
    parser.add_argument("--pair-with", help="only alternate drains: empty vs this database")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sqlite-keep", type=Path, help="SQLite: fill in this folder, keep it")
    parser.add_argument(
        "--sqlite-cache-pair",
        type=Path,
        help="only alternate drains into the SQLite database in this folder, one per page"
        " cache of --sqlite-caches",
    )
    parser.add_argument("--sqlite-caches", default="2,64")
    args = parser.parse_args()
    if args.sqlite_cache_pair:
        caches = [int(mb) for mb in args.sqlite_caches.split(",")]
        sqlite_cache_pairs(args.sqlite_cache_pair, caches, args.rounds, args.backlog)
        return
    if args.pair_with:
        paired_drains(args.pair_with, args.rounds, args.backlog)
        return
    check_fast_events(2000)

    def sizes(text: str) -> list[int]:
        return [int(n) for n in text.split(",") if n.strip()]

    if sizes(args.postgres_sizes):
        folder = Path(tempfile.mkdtemp(prefix="growth-pg-"))
        if args.keep:
            url = postgres_url(args.keep) if args.reuse else create_postgres_database(args.keep)
            run(
                Settings(database_url=url, data_dir=folder),
                sizes(args.postgres_sizes),
                args,
                "postgresql",
            )
        else:
            with postgres_database(f"growth_run_{os.getpid()}") as url:
                settings = Settings(database_url=url, data_dir=folder)
                run(settings, sizes(args.postgres_sizes), args, "postgresql")
    if sizes(args.sqlite_sizes) and args.sqlite_keep:
        args.sqlite_keep.mkdir(parents=True, exist_ok=True)
        run(Settings(data_dir=args.sqlite_keep), sizes(args.sqlite_sizes), args, "sqlite")
    elif sizes(args.sqlite_sizes):
        with tempfile.TemporaryDirectory(prefix="growth-sqlite-") as folder:
            run(Settings(data_dir=Path(folder)), sizes(args.sqlite_sizes), args, "sqlite")


if __name__ == "__main__":
    main()
