"""The dispatcher against a fake Infobip on 127.0.0.1 that speaks its v4 send and logs API,
on SQLite and PostgreSQL: what each answer and each failure does to a message, and that an
ambiguous failure (a late or lost answer, a 5xx, a worker dead mid-call) never sends a second
copy: Infobip's logs are asked by our messageId first."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from emailhook.adapters.db.engine import Database
from emailhook.adapters.db.models import OutboxMessage, SendAttempt, SendRateBucket
from emailhook.adapters.http_send import HttpSender
from emailhook.adapters.store import held, outbox
from emailhook.domain.sending.retries import Resolution, RetryPolicy
from emailhook.providers.infobip.send import InfobipSend
from emailhook.providers.sending import SendConfig
from emailhook.service.send.accept import AcceptPolicy, SendApi
from emailhook.service.send.dispatch import Dispatcher, SendProvider
from support.clock import Clock
from support.fake_senders import FakeInfobipSender
from support.policies import soft_bounces

KEY = "ib-key"
TIMEOUT = 1.0


@pytest.fixture
def infobip() -> Iterator[FakeInfobipSender]:
    with FakeInfobipSender(api_key=KEY) as fake:
        yield fake


@dataclass
class Rig:
    api: SendApi
    dispatcher: Dispatcher
    database: Database
    clock: Clock
    infobip: FakeInfobipSender
    http: HttpSender

    def accept(self, *emails: str) -> list[str]:
        body = {"from": "shop@example.com", "subject": "Hi", "text": "Hello", "to": list(emails)}
        answer = self.api.accept(body, b"")
        return [m["id"] for m in answer.body["messages"]]

    def send(self, ids: list[str]) -> None:
        self.dispatcher.send(ids)

    def later(self, seconds: float = 3600) -> None:
        self.clock.advance(seconds)

    def row(self, public_id: str) -> OutboxMessage:
        with self.database.sessions() as session:
            found = session.execute(
                select(OutboxMessage).where(OutboxMessage.public_id == public_id)
            ).scalar_one()
            session.expunge(found)
            return found

    def attempts(self, public_id: str) -> list[tuple[str, str]]:
        with self.database.sessions() as session:
            rows = session.execute(
                select(SendAttempt.action, SendAttempt.outcome)
                .where(SendAttempt.public_id == public_id)
                .order_by(SendAttempt.id)
            ).all()
        return [(a, o) for a, o in rows]

    def sends(self) -> int:
        """Requests to POST /email/4/messages so far."""
        return len([r for r in self.infobip.requests if r.path == "/email/4/messages"])


def _rig(
    database: Database, infobip: FakeInfobipSender, resolution: Resolution | None = None
) -> Rig:
    clock = Clock(datetime.now(UTC))
    side = InfobipSend()
    if resolution is not None:
        side.resolution = resolution  # type: ignore[misc]
    provider = SendProvider(side, SendConfig(infobip.url, KEY), rate=None, bucket="infobip:t")
    api = SendApi(
        database.sessions,
        {"infobip": side},
        AcceptPolicy("infobip", timedelta(hours=24), None),
        clock=clock,
    )
    http = HttpSender(TIMEOUT)
    dispatcher = Dispatcher(
        database.sessions,
        {"infobip": provider},
        http,
        RetryPolicy(max_attempts=4, backoff_seconds=2, lookup_grace_seconds=5),
        call_timeout=TIMEOUT,
        soft_bounces=soft_bounces(suppress_for=None),
        clock=clock,
        sleep=lambda _: None,
    )
    return Rig(api, dispatcher, database, clock, infobip, http)


@pytest.fixture
def rig(database: Database, infobip: FakeInfobipSender) -> Iterator[Rig]:
    made = _rig(database, infobip)
    yield made
    made.http.close()


def test_an_accepted_message_ends_sent_with_infobips_id(rig: Rig) -> None:
    [public_id] = rig.accept("ann@example.com")
    rig.send([public_id])
    row = rig.row(public_id)
    assert (row.state, row.provider_message_id, row.attempts) == ("sent", public_id, 1)
    assert rig.attempts(public_id) == [("send", "accepted")]
    rig.infobip.ledger.assert_once("messageId", [public_id])


def test_a_thousand_recipients_go_in_ten_requests_of_100_each_with_our_id(rig: Rig) -> None:
    to = [f"r{n}@example.com" for n in range(1000)]
    ids = rig.accept(*to)
    rig.send(ids)
    requests = rig.infobip.bodies("/email/4/messages")
    assert [len(r["messages"]) for r in requests] == [100] * 10
    assert sorted(rig.infobip.ledger.recipients()) == sorted(to)
    rig.infobip.ledger.assert_once("messageId", ids)  # our id is Infobip's messageId
    assert {rig.row(i).state for i in ids[::97]} == {"sent"}


def test_the_same_task_twice_sends_once(rig: Rig) -> None:
    ids = rig.accept("ann@example.com", "bob@example.com")
    rig.send(ids)
    rig.send(ids)
    assert rig.sends() == 1
    rig.infobip.ledger.assert_once("messageId", ids)


@pytest.mark.parametrize("form", ["e429", "legacy"])
def test_a_429_backs_off_slows_the_shared_bucket_and_sends_later(rig: Rig, form: str) -> None:
    [public_id] = rig.accept("ann@example.com")
    rig.infobip.throttle(retry_after=7, form=form)
    rig.send([public_id])
    row = rig.row(public_id)
    assert row.state == "queued"
    assert row.due_at > rig.clock.now
    with rig.database.sessions() as session:
        bucket = session.execute(select(SendRateBucket)).scalar_one()
    assert bucket.tokens == 0
    assert bucket.counted_at > rig.clock.now
    rig.send([public_id])  # not due yet: nothing happens
    assert rig.sends() == 1
    rig.later()
    rig.send([public_id])
    assert rig.row(public_id).state == "sent"
    assert [o for _, o in rig.attempts(public_id)] == ["retry", "accepted"]
    rig.infobip.ledger.assert_once("messageId", [public_id])


def test_a_refusal_ends_the_message_failed_with_infobips_words(rig: Rig) -> None:
    [public_id] = rig.accept("ann@example.com")
    rig.infobip.fail(400)
    rig.send([public_id])
    row = rig.row(public_id)
    assert row.state == "failed"
    assert (row.reason or "").startswith("E400")
    rig.later()
    rig.send([public_id])
    assert rig.sends() == 1


def test_no_connection_is_retried_as_certainly_not_sent(rig: Rig) -> None:
    [public_id] = rig.accept("ann@example.com")
    with rig.infobip.refusing():
        rig.send([public_id])
    assert rig.row(public_id).state == "queued"
    rig.later()
    rig.send([public_id])
    assert rig.row(public_id).state == "sent"
    assert rig.attempts(public_id) == [("send", "retry"), ("send", "accepted")]
    rig.infobip.ledger.assert_once("messageId", [public_id])


@pytest.mark.parametrize("fault", ["late answer", "lost answer"])
def test_an_answer_that_never_came_is_settled_by_the_logs_not_by_sending_again(
    rig: Rig, fault: str
) -> None:
    [public_id] = rig.accept("ann@example.com")
    if fault == "late answer":
        rig.infobip.answer_late(TIMEOUT + 2)
    else:
        rig.infobip.lose_answer()
    rig.send([public_id])
    row = rig.row(public_id)
    assert row.state == "sending"  # uncertain: Infobip may have it
    rig.send([public_id])  # before the logs' grace: nothing more
    assert rig.sends() == 1
    rig.later()
    rig.send([public_id])
    assert rig.row(public_id).state == "sent"
    assert rig.sends() == 1
    assert rig.attempts(public_id) == [("send", "unknown"), ("lookup", "found")]
    rig.infobip.ledger.assert_once("messageId", [public_id])


def test_a_5xx_is_asked_about_and_sent_once_infobip_says_it_never_got_it(rig: Rig) -> None:
    [public_id] = rig.accept("ann@example.com")
    rig.infobip.fail(500)
    rig.send([public_id])
    assert rig.row(public_id).state == "sending"
    rig.later()
    rig.send([public_id])
    assert rig.row(public_id).state == "sent"
    assert rig.attempts(public_id) == [
        ("send", "unknown"),
        ("lookup", "not_found"),
        ("send", "accepted"),
    ]
    rig.infobip.ledger.assert_once("messageId", [public_id])


def test_a_worker_dead_mid_call_leaves_a_message_the_next_one_asks_about(rig: Rig) -> None:
    [public_id] = rig.accept("ann@example.com")
    # a worker took it and began the call, then died before recording anything
    at = rig.clock.now
    with rig.database.sessions.begin() as session:
        held.take(session, [public_id], now=at, hold_until=at)
        held.started(session, [public_id], at, held_until=at, hold_until=at)
    rig.later()
    rig.send([public_id])
    assert rig.row(public_id).state == "sent"
    assert rig.attempts(public_id) == [("lookup", "not_found"), ("send", "accepted")]
    rig.infobip.ledger.assert_once("messageId", [public_id])


def test_a_recipient_suppressed_after_acceptance_is_never_sent(rig: Rig) -> None:
    [public_id] = rig.accept("ann@example.com")
    with rig.database.engine.begin() as conn:
        at = _now_sql(rig)
        conn.exec_driver_sql(
            "INSERT INTO suppression_evidence (email, reason, source, first_at, last_at)"
            f" VALUES ('ann@example.com', 'complaint', 'emailhook', {at}, {at})"
        )
    rig.send([public_id])
    row = rig.row(public_id)
    assert (row.state, row.reason) == ("suppressed", "complaint")
    assert rig.sends() == 0


def _now_sql(rig: Rig) -> str:
    return "'" + (rig.clock.now - timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S") + "'"


def test_a_message_throttled_past_the_bound_is_dead_lettered(rig: Rig) -> None:
    [public_id] = rig.accept("ann@example.com")
    for _ in range(4):
        rig.infobip.throttle()
        rig.send([public_id])
        rig.later()
    row = rig.row(public_id)
    assert row.state == "dead"
    assert row.attempts == 4


def test_a_provider_that_cannot_be_asked_never_gets_a_second_copy(
    database: Database, infobip: FakeInfobipSender
) -> None:
    rig = _rig(database, infobip, Resolution.NONE)
    [public_id] = rig.accept("ann@example.com")
    rig.infobip.lose_answer()
    rig.send([public_id])
    rig.later()
    rig.send([public_id])
    rig.http.close()
    row = rig.row(public_id)
    assert row.state == "dead"
    assert "cannot be asked" in (row.reason or "")
    assert rig.sends() == 1


def test_a_cancelled_message_is_not_sent(rig: Rig) -> None:
    [public_id] = rig.accept("ann@example.com")
    with rig.database.sessions.begin() as session:
        outbox.cancel(session, public_id, rig.clock.now)
    rig.send([public_id])
    assert rig.row(public_id).state == "cancelled"
    assert rig.sends() == 0


def test_messages_with_other_tracking_go_in_separate_requests(rig: Rig) -> None:
    # Infobip's v4 tracking options are request-level: one request cannot carry both
    ids = []
    for track in (True, False, True):
        body = {
            "from": "shop@example.com",
            "subject": "Hi",
            "text": "Hello",
            "to": [f"t{len(ids)}@example.com"],
            "track_opens": track,
        }
        ids += [m["id"] for m in rig.api.accept(body, b"").body["messages"]]
    rig.send(ids)
    requests = rig.infobip.bodies("/email/4/messages")
    tracking = sorted(
        (r["options"]["tracking"]["trackOpens"], len(r["messages"])) for r in requests
    )
    assert tracking == [(False, 1), (True, 2)]
    rig.infobip.ledger.assert_once("messageId", ids)


def test_a_worker_that_lost_its_hold_does_not_send(rig: Rig) -> None:
    # worker A took the message, then waited (for a token) past its hold; worker B took it
    [public_id] = rig.accept("ann@example.com")
    a_hold = rig.clock.now
    with rig.database.sessions.begin() as session:
        [taken] = held.take(session, [public_id], now=rig.clock.now, hold_until=a_hold)
    assert taken.held_until == a_hold
    rig.later()
    rig.send([public_id])  # worker B
    assert rig.row(public_id).state == "sent"
    with rig.database.sessions.begin() as session:
        still_mine = held.started(
            session, [public_id], rig.clock.now, held_until=a_hold, hold_until=rig.clock.now
        )
    assert still_mine == set()  # A sends nothing
    rig.infobip.ledger.assert_once("messageId", [public_id])
