"""Which index each query of the API, the dashboard and the soft-bounce rule uses: EXPLAIN ANALYZE.

    .venv/bin/python bench/explain.py postgresql://postgres@127.0.0.1/growth_keep

Runs each statement as the code builds it (``queries``, ``dashboard_queries``, the soft-bounce
read of ``email_state``) with keys sampled from the stored rows, and prints the plan's first
lines and its execution time.
"""

from __future__ import annotations

import random
import sys
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, create_engine, func, select

from emailhook.adapters.db.models import (
    ContactEmailCount,
    ContactEmailState,
    EmailCallback,
    EventRollup,
    SuppressedAddress,
)

LISTED = [EmailCallback.id, EmailCallback.status, EmailCallback.email]


def page(*conditions: Any) -> Select[Any]:
    return select(*LISTED).where(*conditions).order_by(EmailCallback.id.desc()).limit(101)


def main() -> None:
    url = sys.argv[1].replace("postgresql://", "postgresql+psycopg://")
    engine = create_engine(url)
    with engine.connect() as conn:
        top = conn.execute(select(func.max(EmailCallback.id))).scalar_one()
        rnd = random.Random(5)
        row = conn.execute(
            select(
                EmailCallback.qj_contact_id, EmailCallback.id_externo, EmailCallback.email
            ).where(EmailCallback.id == rnd.randrange(1, top))
        ).one()
        contact, message, email = row
        hour = conn.execute(
            select(EmailCallback.data_recebimento).where(EmailCallback.id == top // 2)
        ).scalar_one()
        cases: list[tuple[str, Any]] = [
            ("?qj_contact_id=", page(EmailCallback.qj_contact_id == contact)),
            ("?id_externo=", page(EmailCallback.id_externo == message)),
            ("?email=", page(EmailCallback.email == email)),
            ("?status=COMPLAINED", page(EmailCallback.status == "COMPLAINED")),
            ("?status=DELIVERED", page(EmailCallback.status == "DELIVERED")),
            (
                "?since&until (1 h)",
                page(
                    EmailCallback.data_recebimento >= hour,
                    EmailCallback.data_recebimento < hour + timedelta(hours=1),
                ),
            ),
            ("first page", page()),
            (
                "soft-bounce rule",
                select(EmailCallback.email, EmailCallback.error_id).where(
                    EmailCallback.email.in_([email]), EmailCallback.status == "UNDELIVERABLE"
                ),
            ),
            (
                "contact state + last event",
                select(ContactEmailState, EmailCallback.status)
                .outerjoin(EmailCallback, EmailCallback.id == ContactEmailState.last_event_id)
                .where(ContactEmailState.qj_contact_id == contact),
            ),
            (
                "contact counts",
                select(ContactEmailCount).where(ContactEmailCount.qj_contact_id == contact),
            ),
            (
                "dashboard contact by address",
                select(ContactEmailState.qj_contact_id).where(ContactEmailState.email == email),
            ),
            (
                "suppressions page",
                select(SuppressedAddress).order_by(SuppressedAddress.email).limit(101),
            ),
            (
                "rollup 30 days",
                select(EventRollup.bucket_hour, EventRollup.status, func.sum(EventRollup.events))
                .where(EventRollup.bucket_hour >= hour - timedelta(days=15))
                .group_by(EventRollup.bucket_hour, EventRollup.status),
            ),
        ]
        for name, statement in cases:
            sql = statement.compile(engine, compile_kwargs={"literal_binds": True})
            plan = [r[0] for r in conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")]
            print(f"\n== {name}")
            for line in plan[:7] + plan[-1:]:
                print(f"   {line}")


if __name__ == "__main__":
    main()
