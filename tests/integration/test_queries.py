"""Query functions on a real database: keyset pages, filters, contact state, suppressions."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from emailhook.adapters.db.engine import Database
from emailhook.adapters.reads import queries
from emailhook.adapters.reads.queries import CallbackFilter
from emailhook.service.receive.intake import SessionWriter
from emailhook.service.receive.processing import Processor
from support.clock import Clock
from support.policies import new_intake, retry, soft_bounces


def delivered(n: int, *, contact: int = 1, to: str | None = None) -> dict[str, Any]:
    """Report n: DELIVERED, or a hard bounce when n is a multiple of 4; done n minutes in."""
    return {
        "messageId": f"m-{n}",
        "to": to or f"user{n % 3}@example.com",
        "doneAt": f"2024-07-16T10:{n:02}:00Z",
        "status": {"groupName": "DELIVERED" if n % 4 else "UNDELIVERABLE"},
        "error": {"id": 6012 if n % 4 == 0 else 0, "permanent": n % 4 == 0},
        "callbackData": json.dumps({"qj_contact_id": contact}),
    }


def post(db: Database, clock: Clock, *bodies: dict[str, Any]) -> None:
    """Accept and store each body in turn, a second apart: ids follow the order given."""
    intake = new_intake(SessionWriter(db.sessions), clock=clock)
    processor = Processor(db.sessions, retry(), soft_bounces=soft_bounces(), clock=clock)
    for body in bodies:
        processor.process([intake.accept(json.dumps(body).encode()).body_id])
        clock.advance(1)


def page_through(db: Database, where: CallbackFilter, limit: int, between=None) -> list[int]:
    seen: list[int] = []
    before = None
    while True:
        with db.sessions() as session:
            items, more = queries.list_callbacks(session, where, limit=limit, before_id=before)
        seen += [item.id for item in items]
        if not more:
            return seen
        before = items[-1].id
        if between:
            between()


def test_keyset_pages_are_stable_while_new_events_arrive(database: Database, clock: Clock) -> None:
    post(database, clock, *(delivered(n) for n in range(1, 26)))
    arrivals = iter(range(100, 110))

    def insert_more() -> None:
        post(database, clock, delivered(next(arrivals)))

    seen = page_through(database, CallbackFilter(), limit=7, between=insert_more)
    assert seen == list(range(25, 0, -1))


def test_filters_narrow_by_contact_address_status_message_and_receipt_time(
    database: Database, clock: Clock
) -> None:
    start = clock.now
    post(database, clock, *(delivered(n, contact=n % 2) for n in range(1, 13)))

    def ids(**where: Any) -> list[int]:
        return page_through(database, CallbackFilter(**where), limit=5)

    assert ids(qj_contact_id=0) == [12, 10, 8, 6, 4, 2]
    assert ids(email="user1@example.com") == [10, 7, 4, 1]
    assert ids(status="UNDELIVERABLE") == [12, 8, 4]
    assert ids(id_externo="m-5") == [5]
    since, until = start + timedelta(seconds=3), start + timedelta(seconds=6)
    assert ids(since=since, until=until) == [6, 5, 4]
    assert ids(qj_contact_id=1, status="UNDELIVERABLE") == []


def test_contact_emails_show_derived_status_counts_and_suppression(
    database: Database, clock: Clock
) -> None:
    post(
        database, clock, delivered(1, contact=5, to="a@x.io"), delivered(4, contact=5, to="a@x.io")
    )
    post(database, clock, delivered(2, contact=5, to="b@x.io"))
    with database.sessions() as session:
        a, b = queries.contact_emails(session, 5)
        assert queries.contact_emails(session, 6) == []
    assert (a.email, a.status, a.counts) == (
        "a@x.io",
        "HARD_BOUNCE",
        {"DELIVERED": 1, "HARD_BOUNCE": 1},
    )
    assert a.suppression is not None
    assert a.suppression.reason == "hard_bounce"
    assert (a.last_event.id_externo, a.last_event.event_status) == ("m-4", "UNDELIVERABLE")
    # and in the one vocabulary, whichever provider sent it
    last = a.last_event
    assert (last.provider, last.event_type, last.bounce_class) == ("infobip", "bounced", "hard")
    assert (b.status, b.suppression) == ("DELIVERED", None)


def test_suppressions_page_in_address_order_and_stream_in_chunks(
    database: Database, clock: Clock
) -> None:
    post(database, clock, *(delivered(n * 4, to=f"s{n:02}@example.com") for n in range(1, 12)))
    with database.sessions() as session:
        first, more = queries.list_suppressions(session, reason=None, limit=4, after_email=None)
        assert more
        assert [s.email for s in first] == [f"s{n:02}@example.com" for n in (1, 2, 3, 4)]
        rest, more = queries.list_suppressions(
            session, reason="hard_bounce", limit=100, after_email=first[-1].email
        )
        assert (more, len(rest)) == (False, 7)
        none, _ = queries.list_suppressions(session, reason="complaint", limit=5, after_email=None)
        assert none == []
    chunks = list(queries.iter_suppressions(database.sessions, reason=None, chunk=4))
    assert [len(c) for c in chunks] == [4, 4, 3]
