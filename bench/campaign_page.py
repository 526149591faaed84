"""Time the campaign send page and ``GET /campaigns/<id>`` on one campaign of 100,000 and
1,000,000 messages, on SQLite and PostgreSQL.

    .venv/bin/python bench/campaign_page.py                      # both backends, 100k and 1M
    .venv/bin/python bench/campaign_page.py --sizes 100000 --backends sqlite

The fill writes the rows directly in SQL (a campaign, its outbox rows, their message rows
and a bounce event for some), as the send path would have left a campaign sent over three
hours: 90 % sent (one message in 50 bounced, one in 1,000 complained, the rest delivered),
the rest queued. Each page is fetched through the Flask app, as an operator's browser would,
after one warm-up call; the median and the slowest of ``--calls`` are printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bytes import postgres_database
from sqlalchemy import Engine, text

from emailhook import create_app
from emailhook.adapters.db import schema
from emailhook.adapters.db.engine import open_database
from emailhook.settings import Settings

CAMPAIGN = "cmp_bench"
SEND_KEY = "bench-send-key-1"
START = "2026-12-01 00:00:00"
#: messages a second the fill pretends it sent at (1M over about 2.8 hours)
RATE = 100

_SQLITE_SERIES = "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < :n)"
_SQLITE_AT = "strftime('%Y-%m-%d %H:%M:%f000', '{start}', '+' || (g / {rate}) || ' seconds')"
_PG_AT = "(timestamptz '{start}+00' + (g / {rate}) * interval '1 second')"


def fill(engine: Engine, n: int) -> None:
    """Write campaign ``CAMPAIGN`` with ``n`` messages (see the module's docstring)."""
    pg = engine.dialect.name == "postgresql"
    at = (_PG_AT if pg else _SQLITE_AT).format(start=START, rate=RATE)
    series = "FROM generate_series(1, :n) AS s(g)" if pg else "FROM s"
    head = "" if pg else _SQLITE_SERIES
    sent = "g % 10 <> 0"
    doc = "'{}'"
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO campaign (public_id, state, provider, document, recipients,"
                " duplicates, suppressed, created_at, updated_at) VALUES (:id, 'running',"
                f" 'infobip', {doc}, :n, 0, 0, :start, :start)"
            ),
            {"id": CAMPAIGN, "n": n, "start": START},
        )
        conn.execute(
            text(
                f"{head} INSERT INTO outbox (public_id, batch_id, campaign_id, provider, state,"
                " category, email, document, due_at, deliveries, attempts, created_at,"
                " updated_at, sent_at) SELECT 'msg_b' || g, :id, :id, 'infobip',"
                f" CASE WHEN {sent} THEN 'sent' ELSE 'queued' END, 'marketing',"
                f" 'r' || g || '@example.com', {doc}, {at}, 1, 1, :start, {at},"
                f" CASE WHEN {sent} THEN {at} END {series}"
            ),
            {"id": CAMPAIGN, "n": n, "start": START},
        )
        conn.execute(
            text(
                f"{head} INSERT INTO message (public_id, provider, email, created_at,"
                " first_event_at, final_at, delivered_at, bounced_at, complained_at)"
                " SELECT 'msg_b' || g, 'infobip', 'r' || g || '@example.com', :start,"
                f" CASE WHEN {sent} THEN {at} END, CASE WHEN {sent} THEN {at} END,"
                f" CASE WHEN {sent} AND g % 50 <> 1 THEN {at} END,"
                f" CASE WHEN {sent} AND g % 50 = 1 THEN {at} END,"
                f" CASE WHEN {sent} AND g % 1000 = 3 THEN {at} END {series}"
            ),
            {"n": n, "start": START},
        )
        key = "decode(lpad(to_hex(g), 42, '0'), 'hex')" if pg else "randomblob(21)"
        conn.execute(
            text(
                f"{head} INSERT INTO email_callback (event_key, kind, data_recebimento,"
                " id_externo, provider, event_type, bounce_class)"
                f" SELECT {key}, 'email', {at}, 'msg_b' || g, 'infobip', 'bounced',"
                f" CASE WHEN g % 100 = 1 THEN 'hard' ELSE 'soft' END {series}"
                f" WHERE g % 50 = 1 AND {sent}"
            ),
            {"n": n},
        )
    minute = (
        "date_trunc('minute', o.sent_at)" if pg else "substr(o.sent_at, 1, 16) || '\\:00.000000'"
    )
    with engine.begin() as conn:  # the tally the send path and the worker would have kept
        conn.execute(
            text(
                "INSERT INTO campaign_minute (campaign_id, minute, sent, final, delivered,"
                " bounced, hard_bounced, soft_bounced, complained, unsubscribed)"
                f" SELECT o.campaign_id, {minute}, count(*), count(m.final_at),"
                " count(m.delivered_at), count(m.bounced_at),"
                " sum(CASE WHEN e.bounce_class = 'hard' THEN 1 ELSE 0 END),"
                " sum(CASE WHEN e.bounce_class = 'soft' THEN 1 ELSE 0 END),"
                " count(m.complained_at), 0 FROM outbox o"
                " JOIN message m ON m.public_id = o.public_id"
                " LEFT JOIN email_callback e ON e.id_externo = o.public_id"
                " WHERE o.campaign_id = :id AND o.sent_at IS NOT NULL GROUP BY 1, 2"
            ),
            {"id": CAMPAIGN},
        )
    if pg:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")


def time_urls(settings: Settings, calls: int) -> dict[str, tuple[float, float]]:
    app = create_app(settings)
    client = app.test_client()
    auth = {"Authorization": f"Bearer {SEND_KEY}"}
    found = {}
    for name, url, headers in [
        ("GET /campaigns/<id>", f"/campaigns/{CAMPAIGN}", auth),
        ("page /dashboard/sends/<id>", f"/dashboard/sends/{CAMPAIGN}", {}),
        ("list /dashboard/sends", "/dashboard/sends", {}),
    ]:
        seconds = []
        for n in range(calls + 1):
            started = time.perf_counter()
            answer = client.get(url, headers=headers)
            if n:  # the first warms the caches
                seconds.append(time.perf_counter() - started)
            assert answer.status_code == 200, answer.data[:300]
        found[name] = (statistics.median(seconds), max(seconds))
    app.extensions["emailhook"].database.engine.dispose()
    app.extensions["emailhook"].reads.engine.dispose()
    return found


@contextmanager
def backend(name: str, folder: Path, size: int) -> Iterator[Settings]:
    common = {"data_dir": folder, "send_api_keys": SEND_KEY}
    if name == "sqlite":
        yield Settings(**common)  # type: ignore[arg-type]
        return
    with postgres_database(f"growth_cpage_{os.getpid()}_{size}") as url:
        yield Settings(database_url=url, **common)  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--calls", type=int, default=5)
    args = parser.parse_args()
    for name in args.backends.split(","):
        for size in [int(s) for s in args.sizes.split(",")]:
            folder = Path(tempfile.mkdtemp(prefix="campaign-page-"))
            with backend(name, folder, size) as settings:
                database = open_database(settings, lock_timeout_seconds=30)
                schema.upgrade(database.engine)
                started = time.perf_counter()
                fill(database.engine, size)
                filled = time.perf_counter() - started
                database.engine.dispose()
                print(f"{name} {size:,} messages (filled in {filled:.0f} s)", flush=True)
                for what, (median, slowest) in time_urls(settings, args.calls).items():
                    print(
                        f"  {what:30} median {median * 1000:8.0f} ms, max {slowest * 1000:8.0f} ms"
                    )


if __name__ == "__main__":
    main()
