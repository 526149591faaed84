"""Fill a database with a million events through the worker's storing path, then time the queries.

    .venv/bin/python bench/queries.py                      # SQLite in a temporary folder
    .venv/bin/python bench/queries.py --data-dir var/bench --reuse
    .venv/bin/python bench/queries.py --database-url postgresql://postgres@127.0.0.1/bench

Events go in as the worker stores them: batches of 5000 through ``insert_events`` and the
derived-state upserts (``contact_state.record``) in one transaction each, so the fill rate is the
storing rate without parsing. Each query function of the API is then called a few hundred
times with random arguments on the read-only engine the web uses; p50 and p99 are printed.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

from emailhook.adapters.db.engine import Database, open_database, open_read_only_database
from emailhook.adapters.db.models import EmailCallback, InboxBody, SuppressedAddress
from emailhook.adapters.reads import queries
from emailhook.adapters.store import contact_state, rollup
from emailhook.adapters.store.events import insert_events
from emailhook.composition.policies import soft_bounce_rule
from emailhook.domain.events import EmailEvent, EventKind
from emailhook.domain.inbox import Provenance
from emailhook.settings import Settings

BATCH = 5000
START = datetime(2026, 1, 1, tzinfo=UTC)
#: what becomes of a message, and how often (the rest is DELIVERED only)
FATES = [
    ("hard", 0.03),
    ("soft", 0.05),
    ("opened", 0.30),
    ("clicked", 0.08),
    ("unsubscribed", 0.005),
    ("complained", 0.002),
    ("late_bounce", 0.003),
]


def main() -> None:
    args, settings = prepare(__doc__, calls=300)
    time_queries(open_read_only_database(settings), args.calls, args.contacts)


def prepare(doc: str | None, *, calls: int) -> tuple[argparse.Namespace, Settings]:
    """Read the common options, fill (or reuse) the database; return the options and settings."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--calls", type=int, default=calls, help="calls per query or page")
    parser.add_argument("--database-url", help="PostgreSQL URL (default: SQLite)")
    parser.add_argument("--data-dir", type=Path, help="default: a temporary folder")
    parser.add_argument("--reuse", action="store_true", help="skip filling if events exist")
    args = parser.parse_args()

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="emailhook-bench-"))
    settings = Settings(data_dir=data_dir, database_url=args.database_url)
    database = open_database(settings, lock_timeout_seconds=30)
    print(f"database: {settings.resolved_database_url}")
    if args.reuse and count(database) > 0:
        print(f"reusing {count(database):,} events")
    else:
        fill(database, args.events, args.contacts)
    if database.engine.dialect.name == "postgresql":
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    database.engine.dispose()
    return args, settings


def count(database: Database) -> int:
    with database.sessions() as session:
        return int(session.execute(select(func.count(EmailCallback.id))).scalar_one())


def fill(database: Database, events: int, contacts: int) -> None:
    rnd = random.Random(42)
    rule = soft_bounce_rule(Settings())
    started, stored, message = time.perf_counter(), 0, 0
    pending: list[EmailEvent] = []
    while stored < events:
        message += 1
        pending += message_events(rnd, message, contacts)
        if len(pending) >= BATCH or stored + len(pending) >= events:
            batch, pending = pending[: events - stored], []
            received = START + timedelta(seconds=30 * 24 * 3600 * stored / events)
            with database.sessions.begin() as session:
                inbox_id = session.execute(
                    insert(InboxBody)
                    .values(
                        received_at=received,
                        available_at=received,
                        stored_body=b"{}",
                        shape="delivery_reports",
                        event_count=len(batch),
                        state="done",
                        deliveries=1,
                        attempts=0,
                    )
                    .returning(InboxBody.id)
                ).scalar_one()
                origin = Provenance(inbox_id, received)
                new = insert_events(session, [(event, origin) for event in batch])
                contact_state.record(session, [s.observation() for s in new], rule)
                rollup.record(session, new)
            stored += len(batch)
            if stored % 100_000 < BATCH:
                rate = stored / (time.perf_counter() - started)
                print(f"  {stored:>9,} events stored, {rate:,.0f} events/s")
    elapsed = time.perf_counter() - started
    print(f"filled {stored:,} events in {elapsed:.0f} s: {stored / elapsed:,.0f} events/s")


def message_events(rnd: random.Random, message: int, contacts: int) -> list[EmailEvent]:
    """The events of one message: a report, and tracking events for some."""
    contact = rnd.randrange(1, contacts + 1)
    email = address(contact)
    done = START + timedelta(minutes=message % 43_200, seconds=rnd.random())
    fate = next((name for name, p in FATES if rnd.random() < p), "delivered")

    def event(kind: EventKind, status: str, suffix: str, **fields: object) -> EmailEvent:
        return EmailEvent(
            event_key=f"bench:{message}:{suffix}",
            kind=kind,
            status=status,
            email=email,
            message_id=f"msg{message}",
            bulk_id=f"bulk{message // 1000}",
            provider_event_id=None,
            qj_contact_id=contact,
            event_at=done if kind is EventKind.DELIVERY_REPORT else None,
            sent_at=done - timedelta(seconds=2),
            callback_data={"qj_contact_id": contact, "qj_creditor_id": "13"},
            campaign=f"campanha-{message % 40}",
            creditor_name=f"credor-{message % 40 % 12}",  # a campaign is one creditor's
            raw={"messageId": f"msg{message}", "to": email, "status": {"groupName": status}},
            **fields,  # type: ignore[arg-type]
        )

    report = EventKind.DELIVERY_REPORT
    if fate == "hard":
        return [event(report, "UNDELIVERABLE", "dr", error_id=6012, error_permanent=True)]
    if fate == "soft":
        return [event(report, "UNDELIVERABLE", "dr", error_id=6010, error_permanent=False)]
    found = [event(report, "DELIVERED", "dr", error_id=0, error_permanent=False)]
    tracked = {"opened": ["OPENED"], "clicked": ["OPENED", "CLICKED"]}.get(fate, [fate.upper()])
    if fate != "delivered":
        found += [event(EventKind.TRACKING, status, status) for status in tracked]
    return found


def address(contact: int) -> str:
    return f"user{contact}@example{contact % 97}.com"


def time_queries(database: Database, calls: int, contacts: int) -> None:
    with database.sessions() as session:
        top = int(session.execute(select(func.max(EmailCallback.id))).scalar_one())
        suppressed = [
            row[0] for row in session.execute(select(SuppressedAddress.email).limit(1000)).all()
        ]
    rnd = random.Random(7)

    def contact() -> int:
        return rnd.randrange(1, contacts + 1)

    def window() -> tuple[datetime, datetime]:
        start = START + timedelta(hours=rnd.randrange(0, 24 * 29))
        return start, start + timedelta(hours=1)

    where = queries.CallbackFilter
    day20 = START + timedelta(days=20)
    cases: list[tuple[str, Callable[[], object]]] = [
        ("email-callbacks, first page (100)", lambda: page(where())),
        ("email-callbacks, a later page", lambda: page(where(), rnd.randrange(1, top))),
        ("email-callbacks?qj_contact_id", lambda: page(where(qj_contact_id=contact()))),
        ("email-callbacks?email", lambda: page(where(email=address(contact())))),
        ("email-callbacks?status=DELIVERED", lambda: page(where(status="DELIVERED"))),
        ("email-callbacks?status=COMPLAINED", lambda: page(where(status="COMPLAINED"))),
        ("email-callbacks?id_externo", lambda: page(where(id_externo=f"msg{message()}"))),
        ("email-callbacks?since&until (1 h)", lambda: page(where(*(None,) * 4, *window()))),
        ("email-callbacks?since (29 days)", lambda: page(where(since=START + timedelta(1)))),
        (
            "email-callbacks?status=COMPLAINED&since",
            lambda: page(where(None, None, "COMPLAINED", None, day20)),
        ),
        ("contacts/<id>", lambda: with_session(lambda s: queries.contact_emails(s, contact()))),
        ("suppressions, first page", lambda: suppressions(None, None)),
        ("suppressions, a later page", lambda: suppressions(None, rnd.choice(suppressed))),
        ("suppressions?reason=complaint", lambda: suppressions("complaint", None)),
    ]

    def message() -> int:
        return rnd.randrange(1, top // 2)

    def with_session(query: Callable[..., object]) -> object:
        with database.sessions.begin() as session:
            return query(session)

    def page(where: queries.CallbackFilter, before: int | None = None) -> object:
        return with_session(lambda s: queries.list_callbacks(s, where, limit=100, before_id=before))

    def suppressions(reason: str | None, after: str | None) -> object:
        return with_session(
            lambda s: queries.list_suppressions(s, reason=reason, limit=100, after_email=after)
        )

    print(f"\n{'query':<44} {'p50 ms':>8} {'p99 ms':>8}")
    for name, run in cases:
        run()  # warm up caches and the connection pool
        durations = []
        for _ in range(calls):
            started = time.perf_counter()
            run()
            durations.append((time.perf_counter() - started) * 1000)
        durations.sort()
        p99 = durations[min(len(durations) - 1, int(len(durations) * 0.99))]
        print(f"{name:<44} {statistics.median(durations):>8.2f} {p99:>8.2f}")

    started = time.perf_counter()
    rows = sum(len(chunk) for chunk in queries.iter_suppressions(database.sessions, reason=None))
    print(f"\nsuppressions as CSV: all {rows:,} rows read in {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
