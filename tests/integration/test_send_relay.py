"""The send relay over a real outbox (SQLite and PostgreSQL): what is due is published once,
in tasks of one provider request each; what is published and not taken is published again
after the redelivery bound; a failed publish leaves it due; a scheduled message waits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from emailhook.adapters.db.engine import Database
from emailhook.adapters.db.models import OutboxMessage
from emailhook.adapters.store import held
from emailhook.providers.infobip.send import InfobipSend
from emailhook.providers.mailjet.send import MailjetSend
from emailhook.service.send.accept import AcceptPolicy, SendApi
from emailhook.service.send.relay import SendRelay, SendRelayPolicy
from support.clock import Clock

REDELIVERY = 60.0


def _accept(database: Database, clock: Clock, count: int, **fields: object) -> list[str]:
    api = SendApi(
        database.sessions,
        {"infobip": InfobipSend()},
        AcceptPolicy("infobip", timedelta(hours=24), None),
        clock=clock,
    )
    body = {
        "from": "shop@example.com",
        "subject": "Hi",
        "text": "Hello",
        "to": [f"u{n}@example.com" for n in range(count)],
        **fields,
    }
    return [m["id"] for m in api.accept(body, b"").body["messages"]]


def _relay(
    database: Database, clock: Clock, published: list[list[str]], **policy: int
) -> SendRelay:
    return SendRelay(
        database.sessions,
        published.append,
        SendRelayPolicy(redelivery_seconds=REDELIVERY, **policy),  # type: ignore[arg-type]
        {"infobip": 100},
        clock=clock,
    )


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(UTC))


def test_due_messages_are_published_once_in_tasks_of_one_request(
    database: Database, clock: Clock
) -> None:
    ids = _accept(database, clock, 250)
    published: list[list[str]] = []
    relay = _relay(database, clock, published)
    assert relay.run_once() == 250
    assert [len(task) for task in published] == [100, 100, 50]
    assert sorted(i for task in published for i in task) == sorted(ids)
    assert relay.run_once() == 0


def test_two_providers_tasks_are_published_in_turn(database: Database, clock: Clock) -> None:
    # a worker waits for its provider's token with the task in hand: a run of one provider's
    # tasks would hold the workers while the other provider's tokens go unused
    api = SendApi(
        database.sessions,
        {"infobip": InfobipSend(), "mailjet": MailjetSend()},
        AcceptPolicy("infobip", timedelta(hours=24), None),
        clock=clock,
    )
    by_provider: dict[str, set[str]] = {}
    for provider, count in (("infobip", 300), ("mailjet", 100)):
        to = [f"{provider}{n}@example.com" for n in range(count)]
        body = {
            "provider": provider,
            "from": "shop@example.com",
            "subject": "Hi",
            "text": "Hello",
            "to": to,
        }
        by_provider[provider] = {m["id"] for m in api.accept(body, b"").body["messages"]}
    published: list[list[str]] = []
    relay = SendRelay(
        database.sessions,
        published.append,
        SendRelayPolicy(redelivery_seconds=REDELIVERY),
        {"infobip": 100, "mailjet": 50},
        clock=clock,
    )
    assert relay.run_once() == 400
    order = [next(p for p, ids in by_provider.items() if task[0] in ids) for task in published]
    assert order == ["infobip", "mailjet", "infobip", "mailjet", "infobip"]
    assert [len(task) for task in published] == [100, 50, 100, 50, 100]
    assert all(set(task) <= by_provider[p] for p, task in zip(order, published, strict=True))


def test_a_message_published_and_never_taken_is_published_again_after_the_bound(
    database: Database, clock: Clock
) -> None:
    [public_id] = _accept(database, clock, 1)
    published: list[list[str]] = []
    relay = _relay(database, clock, published)
    relay.run_once()
    clock.advance(REDELIVERY - 1)
    assert relay.run_once() == 0
    clock.advance(2)
    assert relay.run_once() == 1
    assert published == [[public_id], [public_id]]


def test_a_backlog_slower_workers_take_is_published_once_never_again_until_dead(
    database: Database, clock: Clock
) -> None:
    """Workers that take less than the relay could publish (a 100,000-recipient campaign,
    two workers): what they have not taken waits in the outbox, not in the queue, where it
    was published again every redelivery bound and dead-lettered after 20 times."""
    ids = _accept(database, clock, 600)
    published: list[list[str]] = []
    relay = _relay(database, clock, published, window=200)
    taken: list[str] = []
    while len(taken) < len(ids):
        relay.run_once()
        task = published[len(taken) // 100]  # a worker takes the next task, FIFO, every 40 s
        with database.sessions.begin() as session:
            held.take(session, task, now=clock(), hold_until=clock() + timedelta(hours=1))
        taken += task
        clock.advance(REDELIVERY * 2 / 3)

    assert sorted(taken) == sorted(ids)
    assert sorted(i for task in published for i in task) == sorted(ids)  # each once
    with database.sessions.begin() as session:
        deliveries = session.execute(select(OutboxMessage.deliveries)).scalars().all()
    assert set(deliveries) == {1}


def test_a_failed_publish_leaves_the_messages_due(database: Database, clock: Clock) -> None:
    ids = _accept(database, clock, 3)

    def broker_down(task: list[str]) -> None:
        raise ConnectionError("broker down")

    failing = SendRelay(
        database.sessions,
        broker_down,
        SendRelayPolicy(redelivery_seconds=REDELIVERY),
        {"infobip": 100},
        clock=clock,
    )
    assert failing.run_once() == 0
    published: list[list[str]] = []
    assert _relay(database, clock, published).run_once() == 3
    assert sorted(published[0]) == sorted(ids)


def test_a_scheduled_message_waits_for_its_time(database: Database, clock: Clock) -> None:
    at = clock.now + timedelta(hours=1)
    [public_id] = _accept(database, clock, 1, send_at=at.isoformat())
    published: list[list[str]] = []
    relay = _relay(database, clock, published)
    assert relay.run_once() == 0
    clock.advance(3601)
    assert relay.run_once() == 1
    assert published == [[public_id]]


def test_a_message_no_worker_ever_takes_is_dead_lettered(database: Database, clock: Clock) -> None:
    [public_id] = _accept(database, clock, 1)
    published: list[list[str]] = []
    relay = _relay(database, clock, published, max_deliveries=3)
    for _ in range(4):
        relay.run_once()
        clock.advance(REDELIVERY + 1)
    relay.run_once()
    assert published == [[public_id]] * 3
    with database.sessions() as session:
        row = session.execute(select(OutboxMessage)).scalar_one()
    assert row.state == "dead"
    assert "never sent" in (row.reason or "")


def test_an_uncertain_call_is_claimed_whole_and_published_in_one_task(
    database: Database, clock: Clock
) -> None:
    # Resend's and Brevo's idempotency key is made from a request's message ids: the
    # messages of a call that may have reached the provider must go again together
    fresh = _accept(database, clock, 98)
    call = _accept(database, clock, 5)
    began = clock.now - timedelta(seconds=30)
    with database.sessions.begin() as session:
        for row in session.scalars(select(OutboxMessage).where(OutboxMessage.public_id.in_(call))):
            row.state, row.attempted_at, row.attempts = "sending", began, 1
            row.due_at = clock.now  # due as the fresh ones are, and after them by id
    published: list[list[str]] = []
    # a pass of 100 would cut the call after its first two (the fresh ones come first)
    relay = _relay(database, clock, published, claim_limit=100)
    assert relay.run_once() == 103
    [whole] = [task for task in published if set(call) & set(task)]
    assert set(call) <= set(whole)  # one task holds the whole call
    assert sorted(i for task in published for i in task) == sorted(fresh + call)
    assert all(len(task) <= 100 for task in published)
