"""Suppressions that end (UNBLOCK, operator removal, delivery, a window), in every order."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from emailhook.adapters.db.engine import Database
from emailhook.adapters.db.models import EmailCallback, SuppressedAddress, SuppressionRemoval
from emailhook.adapters.reads import queries
from emailhook.service.operations import Operations
from emailhook.service.receive.intake import SessionWriter
from emailhook.service.receive.processing import Processor
from support.infobip_bodies import blocklist, report, reports
from support.policies import new_intake, retry, soft_bounces

T0 = datetime(2026, 1, 5, 10, tzinfo=UTC)
RULE = soft_bounces(suppress_for=timedelta(days=30))


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


Step = Callable[[Database, str], None]


def post(make: Callable[[str], bytes]) -> Step:
    def step(db: Database, email: str) -> None:
        body_id = new_intake(SessionWriter(db.sessions)).accept(make(email)).body_id
        assert body_id is not None
        outcome = Processor(db.sessions, retry(), soft_bounces=RULE).process([body_id])
        assert outcome.done == [body_id]

    return step


def removal(when: datetime) -> Step:
    def step(db: Database, email: str) -> None:
        operations(db, when).remove_suppression(email, reason="asked by support", operator="ana")

    return step


def operations(db: Database, now: datetime) -> Operations:
    return Operations(db, db, spool_dir=Path("/nonexistent"), soft_bounces=RULE, clock=lambda: now)


def hard_bounce(hours: float) -> Step:
    return post(
        lambda e: reports(
            report(
                e,
                at(hours),
                "UNDELIVERABLE",
                message_id=f"hb{hours}",
                error_id=6012,
                permanent=True,
            )
        )
    )


def soft_bounce_run(hours: float) -> Step:
    # three soft bounces an hour apart: the rule (3 within 7 days) is met at the third
    return post(
        lambda e: reports(
            *(
                report(
                    e,
                    at(hours + i),
                    "UNDELIVERABLE",
                    message_id=f"sb{hours}-{i}",
                    error_id=6010,
                    permanent=False,
                )
                for i in range(3)
            )
        )
    )


def delivered(hours: float) -> Step:
    return post(lambda e: reports(report(e, at(hours), "DELIVERED", message_id=f"d{hours}")))


def block(hours: float, event: str = "BLOCK") -> Step:
    return post(lambda e: blocklist(e, at(hours), event, message_id=f"bl{hours}"))


def entry(db: Database, email: str) -> tuple[object, ...] | None:
    with db.sessions() as session:
        row = session.get(SuppressedAddress, email)
        return None if row is None else (row.reason, row.since, row.source, row.until)


#: (steps, the suppression they give in any order)
SCENARIOS: dict[str, tuple[Sequence[Step], tuple[object, ...] | None]] = {
    # a hard bounce lifted by the operator, an unsubscribe lifted by UNBLOCK, then soft bounces
    "soft bounces after every lift": (
        [hard_bounce(1), removal(at(2)), block(3), block(4, "UNBLOCK"), soft_bounce_run(5)],
        ("soft_bounces", at(7), "emailhook", at(7) + timedelta(days=30)),
    ),
    # soft bounces lifted by a delivery, an unsubscribe lifted by the operator, a hard bounce
    "a hard bounce after every lift": (
        [soft_bounce_run(1), delivered(4), block(5), removal(at(6)), hard_bounce(7)],
        ("hard_bounce", at(7), "emailhook", None),
    ),
    # each lift ends its own reason: the removal the unsubscribe, the delivery the soft bounces
    "everything lifted": (
        [block(1), removal(at(2)), soft_bounce_run(3), delivered(6), block(7, "UNBLOCK")],
        None,
    ),
    # a BLOCK after its UNBLOCK suppresses again, from the new BLOCK
    "blocked again": (
        [block(1), block(2, "UNBLOCK"), block(3), delivered(4), soft_bounce_run(5)],
        ("unsubscribe", at(3), "emailhook", None),
    ),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_every_arrival_order_gives_the_same_suppression(database: Database, scenario: str) -> None:
    steps, expected = SCENARIOS[scenario]
    orders = list(itertools.permutations(range(len(steps))))
    if database.engine.dialect.name == "postgresql":
        orders = orders[::10]  # a sample: the order-freedom is the same SQL on both
    for n, order in enumerate(orders):
        email = f"p{n}@example.com"
        for index in order:
            steps[index](database, email)
        assert entry(database, email) == expected, order
    with database.sessions.begin() as session:
        removals = session.execute(select(SuppressionRemoval)).scalars().all()
        # a removal is recorded with who and why, also when nothing was listed yet
        assert {(r.operator, r.reason) for r in removals} <= {("ana", "asked by support")}
    # rebuilding from events and removals gives the very same list
    before = {f"p{n}@example.com": entry(database, f"p{n}@example.com") for n in range(len(orders))}
    operations(database, at(100)).rebuild()
    assert {email: entry(database, email) for email in before} == before


def test_a_block_is_stored_once_and_unblock_lifts_only_the_unsubscribe(database: Database) -> None:
    email = "u@example.com"
    for step in (block(1), block(1), hard_bounce(0.5), block(2, "UNBLOCK")):
        step(database, email)
    with database.sessions() as session:
        statuses = sorted(str(s) for s in session.execute(select(EmailCallback.status)).scalars())
    assert statuses == ["BLOCK", "UNBLOCK", "UNDELIVERABLE"]
    assert entry(database, email) == ("hard_bounce", at(0.5), "emailhook", None)


def test_a_soft_bounce_suppression_ends_after_its_window(database: Database) -> None:
    email = "s@example.com"
    soft_bounce_run(0)(database, email)
    with database.sessions() as session:
        during, _ = queries.list_suppressions(
            session, reason=None, limit=10, after_email=None, now=at(24 * 29)
        )
        after, _ = queries.list_suppressions(
            session, reason=None, limit=10, after_email=None, now=at(24 * 31)
        )
    assert [(s.email, s.reason, s.source) for s in during] == [(email, "soft_bounces", "emailhook")]
    assert after == []
