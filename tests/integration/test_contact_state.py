"""Derived state on a real database: merged in the storing transaction, never counting twice."""

from __future__ import annotations

import json
import random
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from emailhook.adapters.db.engine import Database, open_database
from emailhook.adapters.db.models import (
    ContactEmailCount,
    ContactEmailState,
    EmailCallback,
    SuppressedAddress,
)
from emailhook.adapters.inbox import bodies as inbox
from emailhook.adapters.store import contact_state
from emailhook.adapters.store.events import insert_events
from emailhook.domain.email_status import EmailStatus, Observation, classify_vocabulary, summarize
from emailhook.domain.inbox import Provenance
from emailhook.domain.suppression import SoftBounceRule
from emailhook.providers.infobip.parsing import parse_body
from emailhook.service.receive.intake import SessionWriter
from emailhook.service.receive.processing import Processor
from emailhook.settings import Settings
from support.clock import Clock
from support.policies import new_intake, retry, soft_bounces

ADDRESS = "maria@example.com"


def report(
    message_id: str,
    group: str,
    done_at: str,
    *,
    to: str = ADDRESS,
    contact: int | None = 7,
    error_id: int = 0,
    permanent: bool | None = False,
) -> dict[str, Any]:
    error: dict[str, Any] = {"id": error_id}
    if permanent is not None:
        error["permanent"] = permanent
    return {
        "messageId": message_id,
        "to": to,
        "doneAt": done_at,
        "status": {"groupName": group},
        "error": error,
        "callbackData": json.dumps({"qj_contact_id": contact}),
    }


def tracking(kind: str, message_id: str, *, to: str = ADDRESS, contact: int = 7) -> dict[str, Any]:
    return {
        "notificationType": kind,
        "eventId": f"{kind}-{message_id}",
        "messageId": message_id,
        "recipient": to,
        "callbackData": json.dumps({"qj_contact_id": contact}),
    }


def store(db: Database, clock: Clock, *bodies: dict[str, Any] | bytes, **kw: Any) -> Any:
    """Accept each body and process them together, as one worker batch."""
    intake = new_intake(SessionWriter(db.sessions), clock=clock)
    ids = [
        intake.accept(b if isinstance(b, bytes) else json.dumps(b).encode()).body_id for b in bodies
    ]
    kw.setdefault("soft_bounces", soft_bounces())
    return Processor(db.sessions, retry(), clock=clock, **kw).process(ids)


def derived(db: Database) -> dict[str, Any]:
    """Every derived row, as plain tuples."""
    with db.sessions() as session:
        states = session.execute(select(ContactEmailState)).scalars()
        counts = session.execute(select(ContactEmailCount)).scalars()
        suppressed = session.execute(select(SuppressedAddress)).scalars()
        return {
            "state": {
                (s.qj_contact_id, s.email): (
                    s.status,
                    s.status_since,
                    s.last_event_id,
                    s.last_event_at,
                    s.last_status,
                )
                for s in states
            },
            "counts": {(c.qj_contact_id, c.email, c.status): c.events for c in counts},
            "suppression": {s.email: (s.reason, s.since) for s in suppressed},
        }


def test_seed_bodies_give_each_contact_address_its_status_and_suppressions(
    database: Database, clock: Clock, seed_bodies: dict[str, bytes]
) -> None:
    store(database, clock, *seed_bodies.values())
    state = derived(database)
    joao = state["state"][(3, "joao.madero@quite.com.br")]
    assert joao[0] == EmailStatus.HARD_BOUNCE  # 6012, permanent; later DELIVERED does not hide it
    assert joao[1] == datetime(2024, 7, 16, 20, 15, 21, 288000, tzinfo=UTC)
    assert state["state"][(3, "john.doe@some-domain.com")][0] == EmailStatus.COMPLAINED
    assert state["state"][(310372388, "paulorobetovlopes@hotmail.com")][0] == "SUPPRESSED"
    assert state["counts"][(3, "joao.madero@quite.com.br", "DELIVERED")] == 1
    assert state["suppression"] == {
        "joao.madero@quite.com.br": ("hard_bounce", joao[1]),
        "john.doe@some-domain.com": ("complaint", clock.now),
        "paulorobetovlopes@hotmail.com": (
            "provider_suppression",
            datetime(2024, 9, 3, 18, 10, 44, 395000, tzinfo=UTC),
        ),
    }


def test_redelivered_and_repeated_events_never_count_twice(
    database: Database, clock: Clock, seed_bodies: dict[str, bytes]
) -> None:
    store(database, clock, *seed_bodies.values())
    before = derived(database)
    clock.advance(60)
    again = store(database, clock, *seed_bodies.values())
    assert (again.stored, again.duplicates) == (0, 12)
    delivered = report("m-1", "DELIVERED", "2024-07-16T10:00:00Z", to="x@example.com")
    store(database, clock, delivered, {"results": [delivered, delivered]})
    after = derived(database)
    assert after["counts"].pop((7, "x@example.com", "DELIVERED")) == 1
    after["state"].pop((7, "x@example.com"))
    assert after == before


STORY = [
    report("m-1", "PENDING", "2024-07-16T10:00:00Z"),
    report("m-1", "DELIVERED", "2024-07-16T10:00:05Z"),
    tracking("OPENED", "m-1"),
    tracking("CLICKED", "m-1"),
    tracking("LATE_BOUNCE", "m-1"),
    report("m-2", "UNDELIVERABLE", "2024-07-17T10:00:00Z", error_id=6010, permanent=False),
    report("m-3", "DELIVERED", "2024-07-18T10:00:00Z"),
    report("m-4", "UNDELIVERABLE", "2024-07-19T09:00:00Z", error_id=6011, permanent=None),
]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_any_arrival_order_and_batching_gives_the_state_of_all_events_at_once(
    database: Database, clock: Clock, seed: int
) -> None:
    bodies = list(STORY)
    random.Random(seed).shuffle(bodies)
    cut = random.Random(seed).randrange(1, len(bodies))
    store(database, clock, *bodies[:cut])
    store(database, clock, *bodies[cut:])

    state = derived(database)
    status, since, last_id, last_at, last_status = state["state"][(7, ADDRESS)]
    with database.sessions() as session:
        rows = session.execute(select(EmailCallback)).scalars().all()
        expected = summarize(
            Observation(
                r.id,
                r.qj_contact_id,
                r.email,
                classify_vocabulary(r.event_type, r.bounce_class, r.reject_reason),
                r.event_at or r.data_recebimento,
            )
            for r in rows
        )
    # a late bounce is a hard bounce in the vocabulary (issue 23): it overrides DELIVERED
    assert status == EmailStatus.HARD_BOUNCE == expected.status
    assert (since, last_id, last_at, last_status) == (
        expected.status_since,
        expected.last_event_id,
        expected.last_event_at,
        expected.last_status,
    )
    assert {k[2]: v for k, v in state["counts"].items()} == {
        "PENDING": 1,
        "DELIVERED": 2,
        "OPENED": 1,
        "CLICKED": 1,
        "HARD_BOUNCE": 1,
        "SOFT_BOUNCE": 2,
    }
    assert state["suppression"][ADDRESS][0] == "hard_bounce"


def test_soft_bounces_suppress_once_the_limit_is_met_within_the_window_in_any_order(
    database: Database, clock: Clock
) -> None:
    rule = SoftBounceRule(limit=3, window=timedelta(days=7))
    day = ["2024-07-01T00:00:00Z", "2024-07-04T00:00:00Z", "2024-07-07T00:00:00Z"]
    soft = [
        report(f"s-{n}", "UNDELIVERABLE", at, error_id=6010, permanent=False, contact=None)
        for n, at in enumerate(day)
    ]
    far_apart = [
        report(f"f-{n}", "UNDELIVERABLE", at, to="far@example.com", error_id=6010, contact=None)
        for n, at in enumerate(
            ["2024-07-01T00:00:00Z", "2024-07-06T00:00:00Z", "2024-07-12T00:00:00Z"]
        )
    ]
    store(database, clock, soft[2], far_apart[0], soft_bounces=rule)
    store(database, clock, far_apart[2], soft_bounces=rule)
    assert derived(database)["suppression"] == {}
    store(database, clock, soft[0], far_apart[1], soft_bounces=rule)
    assert derived(database)["suppression"] == {}
    store(database, clock, soft[1], soft_bounces=rule)
    assert derived(database)["suppression"] == {
        ADDRESS: ("soft_bounces", datetime(2024, 7, 7, tzinfo=UTC))
    }


def test_rebuild_recomputes_exactly_what_the_worker_kept_up_to_date(
    database: Database, clock: Clock, seed_bodies: dict[str, bytes]
) -> None:
    store(database, clock, *seed_bodies.values())
    store(database, clock, *STORY)
    kept = derived(database)
    with database.sessions.begin() as session:
        assert contact_state.rebuild(session, soft_bounces(), batch_size=5) == 20
    assert derived(database) == kept


def test_concurrent_soft_bounces_of_one_address_are_counted_in_turn_on_postgres(
    postgres_url: str, clock: Clock
) -> None:
    db = open_database(Settings(database_url=postgres_url), lock_timeout_seconds=10)
    rule = SoftBounceRule(limit=3, window=timedelta(days=7))
    bounces = [
        report(f"s-{n}", "UNDELIVERABLE", f"2024-07-0{n}T00:00:00Z", error_id=6010, contact=None)
        for n in (1, 2, 3)
    ]
    store(db, clock, bounces[0], soft_bounces=rule)
    first_id = (
        new_intake(SessionWriter(db.sessions), clock=clock)
        .accept(json.dumps(bounces[1]).encode())
        .body_id
    )
    second_id = (
        new_intake(SessionWriter(db.sessions), clock=clock)
        .accept(json.dumps(bounces[2]).encode())
        .body_id
    )
    (pending,) = load_pending_bodies(db, first_id)

    # One worker has stored bounce 2 and not committed yet; another stores bounce 3 meanwhile.
    with db.sessions.begin() as session:
        stored = insert_events(
            session,
            [(e, Provenance(first_id, pending.received_at)) for e in parse_body(bounces[1]).events],
        )
        contact_state.record(session, [s.observation() for s in stored], rule)
        other = threading.Thread(
            target=Processor(db.sessions, retry(), clock=clock, soft_bounces=rule).process,
            args=([second_id],),
        )
        other.start()
        time.sleep(0.5)
        assert other.is_alive()  # waiting for the first to commit, not counting without it
    other.join(10)
    assert derived(db)["suppression"] == {
        ADDRESS: ("soft_bounces", datetime(2024, 7, 3, tzinfo=UTC))
    }
    db.engine.dispose()


def load_pending_bodies(db: Database, *ids: int) -> list[Any]:
    with db.sessions.begin() as session:
        return inbox.load_pending(session, ids)
