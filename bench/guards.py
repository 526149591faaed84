"""How long the campaign guards' reads take on a large outbox: a sending domain's window and a
campaign's messages, both from their tallies (``domain_minute``, ``campaign_minute``).

    .venv/bin/python bench/guards.py --messages 300000
    .venv/bin/python bench/guards.py --messages 1111112 --spread-hours 24
    .venv/bin/python bench/guards.py --messages 300000 --database-url postgresql://...

Fills the outbox with sent messages of two domains (nine in ten from example.com, a campaign's)
spread evenly over the last ``--spread-hours`` (48: the 24-hour window holds half of them),
and counts them in the tallies through the send path's and the worker's own calls: each
minute's messages sent, then delivered, a few complained, 2 % hard bounces. Then times
``guards.domain_outcomes`` and ``campaigns.outcomes`` as the guard (and ``GET
/campaigns/<id>``) calls them.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from emailhook.adapters.db.engine import open_database
from emailhook.adapters.db.models import OutboxMessage
from emailhook.adapters.store import campaign_tally, campaigns, guards
from emailhook.domain.clock import utcnow
from emailhook.domain.sending.campaign_minutes import floor_minute
from emailhook.domain.sending.guards import Outcomes
from emailhook.domain.vocabulary import BounceClass
from emailhook.settings import Settings

BATCH = 5000


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--messages", type=int, default=300_000)
    parser.add_argument("--spread-hours", type=float, default=48.0)
    parser.add_argument("--database-url", help="PostgreSQL URL (default: SQLite)")
    parser.add_argument("--data-dir", type=Path, help="default: a temporary folder")
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="emailhook-guards-"))
    settings = Settings(data_dir=data_dir, database_url=args.database_url)
    database = open_database(settings, lock_timeout_seconds=30)
    now = utcnow()
    window = now - timedelta(hours=24)
    spread = timedelta(hours=args.spread_hours)
    started = time.perf_counter()
    rnd = random.Random(7)
    in_window = 0
    for first in range(0, args.messages, BATCH):
        rows = [
            _message(n, now - spread * (n + 0.5) / args.messages)
            for n in range(first, min(first + BATCH, args.messages))
        ]
        in_window += sum(
            1 for r in rows if r["sender_domain"] == "example.com" and r["sent_at"] >= window
        )
        with database.sessions.begin() as session:
            session.execute(insert(OutboxMessage), rows)
            _tally(session, rows, now, rnd)
    print(
        f"database: {database.engine.dialect.name}, {args.messages:,} messages,"
        f" {in_window:,} of example.com in its 24-hour window;"
        f" filled in {time.perf_counter() - started:.0f} s"
    )
    if database.engine.dialect.name == "postgresql":
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with database.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    with database.sessions.begin() as session:
        reads: list[tuple[str, Callable[[], Outcomes]]] = [
            (
                "domain window (24 h)",
                partial(guards.domain_outcomes, session, "example.com", window),
            ),
            ("campaign (all)", partial(campaigns.outcomes, session, "cmp_bench", None)),
            ("campaign since resume", partial(campaigns.outcomes, session, "cmp_bench", window)),
        ]
        for name, read in reads:
            read()  # warm
            began = time.perf_counter()
            runs = 20
            for _ in range(runs):
                found = read()
            print(f"{name}: {(time.perf_counter() - began) / runs * 1000:.1f} ms, {found}")


def _tally(session: Any, rows: list[dict[str, Any]], now: datetime, rnd: random.Random) -> None:
    """Count the messages as the send path (each minute's sent) and the worker (their
    outcomes) do."""
    by_minute: dict[datetime, list[str]] = defaultdict(list)
    for row in rows:
        by_minute[floor_minute(row["sent_at"])].append(row["public_id"])
    for minute, ids in by_minute.items():
        campaign_tally.add_sent(session, ids, minute)
    turned_on: dict[str, list[str]] = {}
    bounces = []
    for row in rows:
        flags = ["final"]
        if rnd.random() < 0.02:
            flags.append("bounced")
            bounces.append(
                campaign_tally.Bounce(row["public_id"], row["public_id"], BounceClass.HARD.value, 0)
            )
        else:
            flags.append("delivered")
        if rnd.random() < 0.002:
            flags.append("complained")
        turned_on[row["public_id"]] = flags
    campaign_tally.add_outcomes(session, turned_on, bounces, now)


def _message(n: int, sent: datetime) -> dict[str, Any]:
    domain = "example.com" if n % 10 else "other.example"
    return {
        "public_id": f"msg_bench_{n:09d}", "batch_id": "bat_bench",
        "campaign_id": "cmp_bench" if domain == "example.com" else None, "provider": "infobip",
        "state": "sent", "category": "marketing", "email": f"r{n}@example.net",
        "document": {}, "due_at": sent, "deliveries": 1, "attempts": 1, "created_at": sent,
        "updated_at": sent, "sent_at": sent, "sender_domain": domain,
    }  # fmt: skip


if __name__ == "__main__":
    main()
