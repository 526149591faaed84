"""The relay against a real database: publish, republish what was lost, bound, dead-letter."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from emailhook.adapters.db.engine import Database, open_database, open_read_only_database
from emailhook.adapters.db.models import InboxBody
from emailhook.adapters.db.sqlite_lock import writer_lock
from emailhook.domain.inbox import BodyState
from emailhook.service.receive.intake import SessionWriter
from emailhook.service.receive.relay import Relay
from emailhook.settings import Settings
from support.clock import Clock
from support.policies import new_intake, relay_with


class Broker:
    """Records what the relay publishes; can be switched off like a broker that went away."""

    def __init__(self) -> None:
        self.messages: list[list[int]] = []
        self.down = False

    def publish(self, body_ids: list[int]) -> None:
        if self.down:
            raise ConnectionError("broker unreachable")
        self.messages.append(body_ids)

    @property
    def published(self) -> list[int]:
        return [body_id for message in self.messages for body_id in message]


def accept_reports(db: Database, clock: Clock, count: int, events_each: int = 1) -> list[int]:
    intake = new_intake(SessionWriter(db.sessions), clock=clock)
    ids = []
    for n in range(count):
        results = [{"messageId": f"m{n}-{i}", "to": "a@example.com"} for i in range(events_each)]
        ids.append(intake.accept(json.dumps({"results": results}).encode()).body_id)
    return ids


def make_relay(db: Database, broker: Broker, clock: Clock, **policy: float) -> Relay:
    options: dict[str, float] = {"redelivery_seconds": 60, "batch_bodies": 3} | policy
    return Relay(db.sessions, broker.publish, relay_with(**options), clock=clock)  # type: ignore[arg-type]


def body(db: Database, body_id: int) -> InboxBody:
    with db.sessions() as session:
        found = session.get(InboxBody, body_id)
        assert found is not None
        return found


def test_relay_publishes_each_due_body_once_in_batches(database: Database, clock: Clock) -> None:
    ids = accept_reports(database, clock, 7)
    broker = Broker()
    relay = make_relay(database, broker, clock)

    assert relay.run_once() == 6  # two batches of three this pass
    assert relay.run_once() == 1
    assert relay.run_once() == 0  # nothing due: all in flight
    assert broker.published == ids
    assert [len(m) for m in broker.messages] == [3, 3, 1]


def test_batches_are_cut_by_event_count_too(database: Database, clock: Clock) -> None:
    accept_reports(database, clock, 3, events_each=40)
    broker = Broker()
    make_relay(database, broker, clock, batch_bodies=10, batch_events=100).run_once()
    assert [len(m) for m in broker.messages] == [2, 1]


def test_a_body_not_stored_in_time_is_published_again(database: Database, clock: Clock) -> None:
    (body_id,) = accept_reports(database, clock, 1)
    broker = Broker()
    relay = make_relay(database, broker, clock, redelivery_seconds=30)
    relay.run_once()
    clock.advance(29)
    assert relay.run_once() == 0
    clock.advance(2)  # the message was lost: the broker restarted, the worker died
    assert relay.run_once() == 1
    assert broker.published == [body_id, body_id]
    assert body(database, body_id).deliveries == 2


def test_a_failed_publish_keeps_the_body_due_without_counting_it(
    database: Database, clock: Clock
) -> None:
    (body_id,) = accept_reports(database, clock, 1)
    broker = Broker()
    broker.down = True
    relay = make_relay(database, broker, clock)
    assert relay.run_once() == 0
    assert body(database, body_id).deliveries == 0
    broker.down = False
    clock.advance(1.5)
    assert relay.run_once() == 1
    assert broker.published == [body_id]


def test_a_body_that_never_completes_is_dead_lettered(database: Database, clock: Clock) -> None:
    (body_id,) = accept_reports(database, clock, 1)
    broker = Broker()
    relay = make_relay(database, broker, clock, redelivery_seconds=10, max_deliveries=3)
    for _ in range(5):
        relay.run_once()
        clock.advance(11)
    assert len(broker.published) == 3
    dead = body(database, body_id)
    assert dead.state == BodyState.DEAD
    assert "without being stored" in (dead.last_error or "")


def test_in_flight_bodies_are_bounded(database: Database, clock: Clock) -> None:
    accept_reports(database, clock, 10)
    broker = Broker()
    relay = make_relay(database, broker, clock, batch_bodies=2, max_in_flight_messages=2)
    for _ in range(5):
        relay.run_once()
    assert len(broker.published) == 4


@pytest.mark.parametrize("relays", [4])
def test_concurrent_relays_never_publish_a_body_twice(
    database: Database, clock: Clock, relays: int
) -> None:
    ids = accept_reports(database, clock, 200)
    broker = Broker()
    lock = threading.Lock()

    def publish(body_ids: list[int]) -> None:
        with lock:
            broker.publish(body_ids)

    def drain() -> None:
        relay = Relay(
            database.sessions,
            publish,
            relay_with(batch_bodies=5, max_in_flight_messages=1000),
            clock=clock,
        )
        while relay.run_once():
            pass

    threads = [threading.Thread(target=drain) for _ in range(relays)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(broker.published) == ids


def test_on_sqlite_a_pass_with_nothing_to_claim_leaves_the_write_lock_alone(
    tmp_path: Path, clock: Clock
) -> None:
    # The worker's stores wait for SQLite's one write lock; a relay polling 20 times a second
    # must not take it just to find that nothing is due.
    settings = Settings(data_dir=tmp_path)
    db = open_database(settings, lock_timeout_seconds=5)
    readers = open_read_only_database(settings)
    broker = Broker()
    policy = relay_with(redelivery_seconds=60, batch_bodies=3)
    relay = Relay(db.sessions, broker.publish, policy, clock=clock, readers=readers.sessions)
    accept_reports(db, clock, 2)
    assert relay.run_once() == 2  # claimed: both in flight now
    assert relay.run_once() == 0  # a pass that finds nothing: the relay is idle

    lock = writer_lock(db.engine)
    assert lock is not None
    held = threading.Event()
    release = threading.Event()

    def store_elsewhere() -> None:  # as a worker's long store transaction would
        lock.acquire()
        held.set()
        release.wait(10)
        lock.release()

    holder = threading.Thread(target=store_elsewhere)
    holder.start()
    held.wait(5)
    try:
        started = time.monotonic()
        assert relay.run_once() == 0  # nothing due: answered by a read
        assert time.monotonic() - started < 1.0
        # the query API's read-only engine reads past the writer too
        with readers.sessions.begin() as session:
            assert session.query(InboxBody).count() == 2
    finally:
        release.set()
        holder.join()
    clock.advance(seconds=61)  # now they are due again: the claim takes the lock as before
    assert relay.run_once() == 2
    db.engine.dispose()
    readers.engine.dispose()


class CountingRelay(Relay):
    """The relay, counting its passes."""

    passes = 0

    def run_once(self) -> int:
        self.passes += 1
        return super().run_once()


def test_an_idle_relay_looks_less_and_less_often(database: Database, clock: Clock) -> None:
    policy = relay_with(poll_seconds=0.01, idle_poll_seconds=0.16)
    relay = CountingRelay(database.sessions, Broker().publish, policy, clock=clock)
    stop = threading.Event()
    thread = threading.Thread(target=relay.run_forever, args=(stop,))
    thread.start()
    try:
        time.sleep(1.0)
        # waits of 0.02, 0.04, 0.08, then 0.16 s: about ten passes in a second where a relay
        # looking every poll_seconds would make a hundred
        assert 2 <= relay.passes <= 25
    finally:
        stop.set()
        relay.nudge()
        thread.join(10)
    assert not thread.is_alive()


def test_a_nudge_ends_the_relays_wait_and_its_body_is_published_at_once(
    database: Database, clock: Clock
) -> None:
    broker = Broker()
    policy = relay_with(poll_seconds=30.0, idle_poll_seconds=30.0)  # left alone: 30 s a wait
    relay = CountingRelay(database.sessions, broker.publish, policy, clock=clock)
    stop = threading.Event()
    thread = threading.Thread(target=relay.run_forever, args=(stop,))
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while relay.passes < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        (body_id,) = accept_reports(database, clock, 1)  # as the worker's spool mover moves one
        relay.nudge()
        while not broker.published and time.monotonic() < deadline:
            time.sleep(0.01)
        assert broker.published == [body_id]
    finally:
        stop.set()
        relay.nudge()  # as a worker's stop does: the thread ends now, not after its wait
        thread.join(10)
    assert not thread.is_alive()
