"""Bytes per stored event: fill a fresh database with the seed mix, then measure each table.

    .venv/bin/python bench/bytes.py --events 200000                 # SQLite and PostgreSQL
    .venv/bin/python bench/bytes.py --events 200000 --only sqlite

The fill is bench/workload.py's: seed copies stored through the inbox and the real Processor.
PostgreSQL: after ``VACUUM ANALYZE``, each table's heap, TOAST (with its index) and each index
(``pg_relation_size``), their sum ``pg_total_relation_size``. SQLite: the file after a
``wal_checkpoint(TRUNCATE)``, and each table and index from ``dbstat``.
The PostgreSQL database is ``growth_bytes_<pid>``, dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import psycopg
from sqlalchemy import Engine
from workload import MIX, Mix, drain

from emailhook.adapters.db.engine import Database, open_database
from emailhook.settings import Settings

#: the server's maintenance database; EMAILHOOK_BENCH_POSTGRES_URL names another server's (for
#: example the production-like one bench/tuned-postgres starts)
ADMIN = os.environ.get(
    "EMAILHOOK_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def postgres_url(name: str) -> str:
    """Return the URL of database ``name`` on the benchmark's server."""
    return ADMIN.rsplit("/", 1)[0] + f"/{name}"


TABLES = [
    "email_callback",
    "inbox_body",
    "contact_email_state",
    "contact_email_count",
    "suppression",
    "event_rollup",
    "platform_event",
]


def create_postgres_database(name: str) -> str:
    """Create database ``name`` (growth_* only) afresh; return its URL."""
    if not name.startswith("growth_") or not name.replace("_", "").isalnum():
        raise ValueError("this bench only creates growth_* databases")
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return postgres_url(name)


@contextmanager
def postgres_database(name: str) -> Iterator[str]:
    """Create database ``name`` (growth_*) and drop it afterwards; yield its URL."""
    url = create_postgres_database(name)
    try:
        yield url
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_sizes(engine: Engine) -> dict[str, dict[str, int]]:
    """Return, per table, bytes of heap, toast, each index and total (after VACUUM ANALYZE)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pgstattuple")
        stats = True
        sizes: dict[str, dict[str, int]] = {}
        for table in TABLES:
            row = conn.exec_driver_sql(
                "SELECT pg_relation_size(c.oid), pg_total_relation_size(c.oid),"
                " COALESCE(pg_total_relation_size(NULLIF(c.reltoastrelid, 0)), 0)"
                " FROM pg_class c WHERE c.relname = %(t)s",
                {"t": table},
            ).one()
            parts = {"heap": int(row[0])}
            if stats:  # what the heap holds live; the rest is dead versions and free space
                live = conn.exec_driver_sql(
                    "SELECT tuple_len FROM pgstattuple(%(t)s)", {"t": table}
                ).scalar_one()
                parts["  heap: live tuples (not added)"] = int(live)
            parts["toast"] = int(row[2])
            for name, size in conn.exec_driver_sql(
                "SELECT i.relname, pg_relation_size(i.oid) FROM pg_index x"
                " JOIN pg_class i ON i.oid = x.indexrelid"
                " JOIN pg_class t ON t.oid = x.indrelid WHERE t.relname = %(t)s ORDER BY 1",
                {"t": table},
            ):
                parts[f"  {name}"] = int(size)
            parts["total"] = int(row[1])
            sizes[table] = parts
        return sizes


JSONS = ("jsonb", "json")


def postgres_columns(engine: Engine) -> list[tuple[str, float]]:
    """Return the mean stored bytes of each email_callback column (JSONB also as text)."""
    with engine.connect() as conn:
        names = [
            (str(name), str(kind))
            for name, kind in conn.exec_driver_sql(
                "SELECT column_name, data_type FROM information_schema.columns"
                " WHERE table_name = 'email_callback' ORDER BY ordinal_position"
            )
        ]
        parts = [f"avg(pg_column_size({n}))" for n, _ in names]
        parts += [f"avg(pg_column_size({n}::text))" for n, kind in names if kind in JSONS]
        row = conn.exec_driver_sql(f"SELECT {', '.join(parts)} FROM email_callback").one()
    labels = [n for n, _ in names] + [f"{n} as text" for n, kind in names if kind in JSONS]
    return [(label, float(value or 0)) for label, value in zip(labels, row, strict=True)]


def sqlite_sizes(path: str) -> tuple[int, dict[str, dict[str, int]]]:
    """Return the file's size after a checkpoint, and bytes per table and index (dbstat)."""
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        owners = {
            str(name): str(table)
            for name, table in conn.execute(
                "SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')"
            )
        }
        found: dict[str, dict[str, int]] = {}
        for name, size in conn.execute(
            "SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY name"
        ):
            table = owners.get(str(name), str(name))
            if table not in TABLES:
                continue
            parts = found.setdefault(table, {"heap": 0})
            key = "heap" if name == table else f"  {name}"
            parts[key] = parts.get(key, 0) + int(size)
        for parts in found.values():
            parts["total"] = sum(v for k, v in parts.items() if k != "total")
    return os.path.getsize(path), found


def print_sizes(sizes: dict[str, dict[str, int]], events: int, heading: str) -> int:
    """Print bytes and bytes per event of each part; return the total bytes."""
    print(f"\n{heading}: {events:,} events")
    print(f"{'table / part':<46} {'MB':>9} {'B/event':>9}")
    grand = 0
    for table in TABLES:
        if table not in sizes:
            continue
        parts = sizes[table]
        grand += parts["total"]
        for part in ["total", *(p for p in parts if p != "total")]:
            label = table if part == "total" else f"  {part}"
            print(f"{label:<46} {parts[part] / 1e6:>9.2f} {parts[part] / events:>9.1f}")
    print(f"{'all tables':<46} {grand / 1e6:>9.2f} {grand / events:>9.1f}")
    without = grand - sizes.get("inbox_body", {}).get("total", 0)
    print(f"{'all but inbox_body':<46} {without / 1e6:>9.2f} {without / events:>9.1f}")
    return grand


def fill(database: Database, events: int) -> float:
    return drain(database, Mix(total=events), events, label="fill")


def run_postgres(events: int, alter: str | None = None) -> None:
    with postgres_database(f"growth_bytes_{os.getpid()}") as url:
        database = open_database(
            Settings(database_url=url, data_dir=Path(tempfile.mkdtemp())),
            lock_timeout_seconds=30,
        )
        if alter:  # a variant measured before it becomes a migration
            with database.engine.begin() as conn:
                conn.exec_driver_sql(alter)
            print(f"variant: {alter}")
        rate = fill(database, events)
        print(f"PostgreSQL fill: {rate:,.0f} events/s")
        print_sizes(postgres_sizes(database.engine), events, "PostgreSQL")
        print("\nemail_callback, mean bytes of each column where not NULL (pg_column_size)")
        for label, size in postgres_columns(database.engine):
            print(f"  {label:<44} {size:>9.1f}")
        database.engine.dispose()


def run_sqlite(events: int) -> None:
    with tempfile.TemporaryDirectory(prefix="growth-bytes-") as folder:
        settings = Settings(data_dir=Path(folder))
        database = open_database(settings, lock_timeout_seconds=30)
        path = database.engine.url.database or str(Path(folder) / "emailhook.db")
        rate = fill(database, events)
        print(f"SQLite fill: {rate:,.0f} events/s")
        database.engine.dispose()
        file_size, sizes = sqlite_sizes(path)
        print_sizes(sizes, events, "SQLite (dbstat)")
        print(f"{'file after checkpoint':<46} {file_size / 1e6:>9.2f} {file_size / events:>9.1f}")
        database.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument("--alter", help="SQL run on PostgreSQL after migrating (a variant)")
    args = parser.parse_args()
    print(f"mix: {MIX}")
    if args.only != "sqlite":
        run_postgres(args.events, args.alter)
    if args.only != "postgres":
        run_sqlite(args.events)


if __name__ == "__main__":
    main()
