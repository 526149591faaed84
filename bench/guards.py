"""How long the campaign guards' reads take on a large outbox: a sending domain's window
(``ix_outbox_sender_sent``) and a campaign's messages, with the plan of each.

    .venv/bin/python bench/guards.py --messages 300000
    .venv/bin/python bench/guards.py --messages 300000 --database-url postgresql://...

Fills the outbox with sent messages of two domains spread over the last 48 hours (so that the
24-hour window holds half of them), each with its ``message`` row, delivered, a few
complained, and its delivery report in ``email_callback`` (2 % hard bounces); then times
``guards.domain_outcomes`` and ``campaigns.outcomes`` as the guard calls them.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from emailhook.adapters.db.engine import open_database
from emailhook.adapters.db.models import InboxBody, Message, OutboxMessage
from emailhook.adapters.store import campaigns, guards
from emailhook.adapters.store.events import insert_events
from emailhook.domain.clock import utcnow
from emailhook.domain.events import EmailEvent, EventKind
from emailhook.domain.inbox import Provenance
from emailhook.domain.sending.guards import Outcomes
from emailhook.domain.vocabulary import BounceClass, EventType
from emailhook.settings import Settings

BATCH = 5000


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--messages", type=int, default=300_000)
    parser.add_argument("--database-url", help="PostgreSQL URL (default: SQLite)")
    parser.add_argument("--data-dir", type=Path, help="default: a temporary folder")
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="emailhook-guards-"))
    settings = Settings(data_dir=data_dir, database_url=args.database_url)
    database = open_database(settings, lock_timeout_seconds=30)
    print(f"database: {database.engine.dialect.name}, {args.messages:,} messages")
    now = utcnow()
    started = time.perf_counter()
    rnd = random.Random(7)
    for first in range(0, args.messages, BATCH):
        rows = [_message(n, now, rnd) for n in range(first, min(first + BATCH, args.messages))]
        with database.sessions.begin() as session:
            session.execute(insert(OutboxMessage), [r[0] for r in rows])
            session.execute(insert(Message), [r[1] for r in rows])
            inbox_id = session.execute(
                insert(InboxBody)
                .values(
                    received_at=now,
                    available_at=now,
                    stored_body=b"{}",
                    shape="delivery_reports",
                    event_count=len(rows),
                    state="done",
                    deliveries=1,
                    attempts=0,
                )
                .returning(InboxBody.id)
            ).scalar_one()
            origin = Provenance(inbox_id, now)
            insert_events(session, [(r[2], origin) for r in rows])
    print(f"filled in {time.perf_counter() - started:.0f} s")
    if database.engine.dialect.name == "postgresql":
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with database.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    window = now - timedelta(hours=24)
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
            runs = 3
            for _ in range(runs):
                found = read()
            print(f"{name}: {(time.perf_counter() - began) / runs * 1000:.0f} ms, {found}")


def _message(n: int, now: Any, rnd: random.Random) -> tuple[dict[str, Any], dict[str, Any], Any]:
    public_id = f"msg_bench_{n:09d}"
    domain = "example.com" if n % 10 else "other.example"
    sent = now - timedelta(hours=48 * rnd.random())
    hard = rnd.random() < 0.02
    outbox = {
        "public_id": public_id, "batch_id": "bat_bench",
        "campaign_id": "cmp_bench" if domain == "example.com" else None, "provider": "infobip",
        "state": "sent", "category": "marketing", "email": f"r{n}@example.net",
        "document": {}, "due_at": sent, "deliveries": 1, "attempts": 1, "created_at": sent,
        "updated_at": sent, "sent_at": sent, "sender_domain": domain,
    }  # fmt: skip
    message = {
        "public_id": public_id, "provider": "infobip", "email": f"r{n}@example.net",
        "created_at": sent, "final_at": sent, "delivered_at": None if hard else sent,
        "bounced_at": sent if hard else None,
        "complained_at": sent if rnd.random() < 0.002 else None,
    }  # fmt: skip
    event = EmailEvent(
        event_key=f"bench:{n}",
        kind=EventKind.DELIVERY_REPORT,
        status="UNDELIVERABLE" if hard else "DELIVERED",
        email=f"r{n}@example.net",
        message_id=public_id,
        bulk_id=None,
        provider_event_id=None,
        qj_contact_id=None,
        event_at=sent,
        sent_at=sent,
        raw={},
        event_type=EventType.BOUNCED if hard else EventType.DELIVERED,
        bounce_class=BounceClass.HARD if hard else None,
    )
    return outbox, message, event


if __name__ == "__main__":
    main()
