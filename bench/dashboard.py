"""Time the dashboard on a million events: its queries, and whole pages as the browser gets them.

    .venv/bin/python bench/dashboard.py                              # SQLite, temporary folder
    .venv/bin/python bench/dashboard.py --data-dir var/bench --reuse  # the data of bench/queries.py
    .venv/bin/python bench/dashboard.py --database-url postgresql://postgres@127.0.0.1/bench

The fill is bench/queries.py's (the worker's storing path, rollup included). Each query runs
on the read-only engine the web uses; each page through the Flask app (template and chart
rendering included). p50 and p99 are printed.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from datetime import timedelta

from queries import START, address, prepare
from sqlalchemy import select

from emailhook import create_app
from emailhook.adapters.db.engine import Database, open_read_only_database
from emailhook.adapters.db.models import EmailCallback
from emailhook.adapters.inbox import backlog
from emailhook.adapters.reads import dashboard as dq
from emailhook.adapters.reads import queries
from emailhook.domain.inbox import BodyState
from emailhook.settings import Settings


def main() -> None:
    args, settings = prepare(__doc__, calls=100)
    reader = open_read_only_database(settings)
    time_all("query", query_cases(reader, args.contacts), args.calls)
    time_all("page", page_cases(settings, args.contacts), args.calls)


def query_cases(database: Database, contacts: int) -> list[tuple[str, Callable[[], object]]]:
    rnd = random.Random(7)
    day, month = (
        (START + timedelta(days=20), START + timedelta(days=21)),
        (
            START,
            START + timedelta(days=30),
        ),
    )
    with database.sessions() as session:
        top = int(
            session.execute(select(EmailCallback.id).order_by(EmailCallback.id.desc())).scalar()
            or 1
        )

    def run(query: Callable[..., object]) -> Callable[[], object]:
        def call() -> object:
            with database.sessions.begin() as session:
                return query(session)

        return call

    return [
        ("overview: hourly counts, one day", run(lambda s: dq.hourly_counts(s, *day))),
        ("overview: hourly counts, 30 days", run(lambda s: dq.hourly_counts(s, *month))),
        (
            "campaigns: by campaign, 30 days",
            run(lambda s: dq.grouped_counts(s, *month, "campaign")),
        ),
        (
            "campaigns: by campaign and creditor, 30 days",
            run(lambda s: dq.grouped_counts(s, *month, "campaign_creditor")),
        ),
        (
            "events: a page of 50 with raw",
            run(
                lambda s: dq.latest_events(
                    s, queries.CallbackFilter(), limit=50, before_id=rnd.randrange(2, top)
                )
            ),
        ),
        (
            "contact: by address",
            run(lambda s: dq.contacts_with_email(s, address(rnd.randrange(1, contacts)))),
        ),
        ("pipeline: backlog counts", run(backlog.counts)),
        ("pipeline: events stored (rollup sum)", run(dq.events_stored)),
        (
            "pipeline: dead bodies",
            run(lambda s: backlog.list_bodies(s, states=[BodyState.DEAD], limit=100)),
        ),
    ]


def page_cases(settings: Settings, contacts: int) -> list[tuple[str, Callable[[], object]]]:
    client = create_app(settings).test_client()
    rnd = random.Random(11)
    month = "since=2026-01-01T00:00Z&until=2026-01-31T00:00Z"

    def get(url: Callable[[], str]) -> Callable[[], object]:
        def call() -> object:
            response = client.get(url())
            assert response.status_code == 200, response.data[:200]
            return response.data

        return call

    return [
        (
            "GET / one day, hourly",
            get(lambda: "/?since=2026-01-21T00:00Z&until=2026-01-22T00:00Z&bucket=hour"),
        ),
        ("GET / 30 days, daily", get(lambda: f"/?{month}&bucket=day")),
        ("GET / 30 days, hourly (720 bars)", get(lambda: f"/?{month}&bucket=hour")),
        ("GET /dashboard/campaigns 30 days", get(lambda: f"/dashboard/campaigns?{month}")),
        (
            "GET /dashboard/campaigns by both",
            get(lambda: f"/dashboard/campaigns?{month}&by=campaign_creditor"),
        ),
        ("GET /dashboard/events", get(lambda: "/dashboard/events")),
        (
            "GET /dashboard/events?status=COMPLAINED",
            get(lambda: "/dashboard/events?status=COMPLAINED"),
        ),
        (
            "GET /dashboard/contact?q=<id>",
            get(lambda: f"/dashboard/contact?q={rnd.randrange(1, contacts)}"),
        ),
        ("GET /dashboard/suppressions", get(lambda: "/dashboard/suppressions")),
        ("GET /dashboard/pipeline", get(lambda: "/dashboard/pipeline")),
    ]


def time_all(kind: str, cases: list[tuple[str, Callable[[], object]]], calls: int) -> None:
    print(f"\n{kind:<48} {'p50 ms':>8} {'p99 ms':>8}")
    for name, run in cases:
        run()  # warm up caches and the connection pool
        durations = []
        for _ in range(calls):
            started = time.perf_counter()
            run()
            durations.append((time.perf_counter() - started) * 1000)
        durations.sort()
        p99 = durations[min(len(durations) - 1, int(len(durations) * 0.99))]
        print(f"{name:<48} {statistics.median(durations):>8.2f} {p99:>8.2f}", flush=True)


if __name__ == "__main__":
    main()
