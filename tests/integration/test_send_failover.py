"""Failover between two providers on a real database (SQLite and PostgreSQL), a fake Infobip
first and a fake Postmark second: a provider failing past the bound opens its circuit and the
messages no provider has had go to the next; a message whose call was ambiguous stays with
its provider until that provider settles it (never a second copy elsewhere); a probe after the
open time closes the circuit."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from emailhook.adapters.db.engine import Database
from emailhook.adapters.db.models import OutboxMessage, SendAttempt, SendCircuit
from emailhook.adapters.http_send import HttpSender
from emailhook.domain.sending.retries import RetryPolicy
from emailhook.providers.infobip.send import InfobipSend
from emailhook.providers.postmark.send import PostmarkSend
from emailhook.providers.sending import SendConfig
from emailhook.service.errors import InvalidRequestError
from emailhook.service.send.accept import AcceptPolicy, SendApi
from emailhook.service.send.dispatch import CircuitPolicy, Dispatcher, SendProvider
from support.clock import Clock
from support.fake_senders import FakeInfobipSender, FakePostmark
from support.policies import soft_bounces

TIMEOUT = 1.0
ROUTE = ("infobip", "postmark")


@dataclass
class Rig:
    api: SendApi
    dispatcher: Dispatcher
    database: Database
    clock: Clock
    infobip: FakeInfobipSender
    postmark: FakePostmark

    def accept(self, *emails: str, **fields: object) -> list[str]:
        body = {"from": "shop@example.com", "subject": "Hi", "text": "Hello", "to": list(emails)}
        return [m["id"] for m in self.api.accept({**body, **fields}, b"").body["messages"]]

    def row(self, public_id: str) -> OutboxMessage:
        with self.database.sessions() as session:
            found = session.execute(
                select(OutboxMessage).where(OutboxMessage.public_id == public_id)
            ).scalar_one()
            session.expunge(found)
            return found

    def calls(self, public_id: str) -> list[tuple[str | None, str, str]]:
        with self.database.sessions() as session:
            rows = session.execute(
                select(SendAttempt.provider, SendAttempt.action, SendAttempt.outcome)
                .where(SendAttempt.public_id == public_id)
                .order_by(SendAttempt.id)
            ).all()
        return [tuple(r) for r in rows]  # type: ignore[misc]

    def circuit(self, provider: str) -> tuple[int, datetime | None]:
        with self.database.sessions() as session:
            row = session.get(SendCircuit, provider)
            return (row.failures, row.opened_until) if row else (0, None)


@pytest.fixture
def rig(database: Database) -> Iterator[Rig]:
    with FakeInfobipSender(api_key="ib") as infobip, FakePostmark(server_token="pm") as postmark:
        clock = Clock(datetime.now(UTC))
        sides = {"infobip": InfobipSend(), "postmark": PostmarkSend()}
        providers = {
            "infobip": SendProvider(sides["infobip"], SendConfig(infobip.url, "ib"), None, "ib"),
            "postmark": SendProvider(sides["postmark"], SendConfig(postmark.url, "pm"), None, "pm"),
        }
        api = SendApi(
            database.sessions,
            sides,  # type: ignore[arg-type]
            AcceptPolicy("infobip", timedelta(hours=24), None, route=ROUTE),
            clock=clock,
        )
        http = HttpSender(TIMEOUT)
        dispatcher = Dispatcher(
            database.sessions,
            providers,  # type: ignore[arg-type]
            http,
            RetryPolicy(max_attempts=6, backoff_seconds=1, lookup_grace_seconds=2),
            call_timeout=TIMEOUT,
            soft_bounces=soft_bounces(suppress_for=None),
            clock=clock,
            sleep=lambda _: None,
            circuit=CircuitPolicy(failures=2, open_seconds=60),
        )
        yield Rig(api, dispatcher, database, clock, infobip, postmark)
        http.close()


def test_a_provider_down_opens_its_circuit_and_the_next_provider_sends(rig: Rig) -> None:
    a, b, c = rig.accept("a@example.com", "b@example.com", "c@example.com")
    assert rig.row(a).provider == "infobip"
    with rig.infobip.refusing():
        rig.dispatcher.send([a])
        rig.clock.advance(5)
        rig.dispatcher.send([b])  # the second failure in a row: open
        failures, opened_until = rig.circuit("infobip")
        assert failures == 2
        assert opened_until is not None
        rig.clock.advance(5)  # past the backoff, within the open time
        rig.dispatcher.send([a, b, c])
    for public_id in (a, b, c):
        row = rig.row(public_id)
        assert (row.state, row.provider) == ("sent", "postmark")
    assert rig.calls(a) == [("infobip", "send", "retry"), ("postmark", "send", "accepted")]
    assert rig.calls(c) == [("postmark", "send", "accepted")]
    assert len(rig.infobip.ledger) == 0
    rig.postmark.ledger.assert_once("emailhook_id", [a, b, c])


def test_a_call_accepted_too_late_is_settled_where_it_went_never_sent_elsewhere(
    rig: Rig,
) -> None:
    a, b = rig.accept("a@example.com", "b@example.com")
    rig.infobip.answer_late(TIMEOUT + 1, times=2)
    rig.dispatcher.send([a])
    rig.dispatcher.send([b])  # two ambiguous calls: the circuit opens
    assert rig.circuit("infobip")[1] is not None
    assert {rig.row(a).state, rig.row(b).state} == {"sending"}
    c = rig.accept("c@example.com")[0]
    rig.clock.advance(10)
    rig.dispatcher.send([a, b, c])
    assert (rig.row(a).state, rig.row(a).provider) == ("sent", "infobip")
    assert (rig.row(b).state, rig.row(b).provider) == ("sent", "infobip")
    assert (rig.row(c).state, rig.row(c).provider) == ("sent", "postmark")
    rig.infobip.ledger.assert_once("messageId", [a, b])
    rig.postmark.ledger.assert_once("emailhook_id", [c])


def test_a_hanging_provider_is_failed_over_without_a_second_copy(rig: Rig) -> None:
    a, b = rig.accept("a@example.com", "b@example.com")
    rig.infobip.hang(times=2, path="/email/4/messages")
    rig.dispatcher.send([a])
    rig.dispatcher.send([b])
    rig.infobip.release()
    c = rig.accept("c@example.com")[0]
    rig.clock.advance(10)
    rig.dispatcher.send([a, b, c])
    # a hung call took nothing (the fake ledgers only what it answered): asked, then resent
    # to the provider that had it; c, new, to the next
    assert (rig.row(c).state, rig.row(c).provider) == ("sent", "postmark")
    for public_id in (a, b):
        assert rig.row(public_id).provider == "infobip"
    sent_by = {row.echo.get("emailhook_id") or row.provider_id for row in rig.infobip.ledger}
    assert not (sent_by & {c})
    rig.postmark.ledger.assert_once("emailhook_id", [c])


def test_the_circuit_closes_after_a_probe_succeeds(rig: Rig) -> None:
    a, b = rig.accept("a@example.com", "b@example.com")
    with rig.infobip.refusing():
        rig.dispatcher.send([a])
        rig.clock.advance(5)
        rig.dispatcher.send([b])
    assert rig.circuit("infobip")[1] is not None
    rig.clock.advance(61)  # the open time is over: the next call is a probe
    c = rig.accept("c@example.com")[0]
    rig.dispatcher.send([c])
    assert (rig.row(c).state, rig.row(c).provider) == ("sent", "infobip")
    assert rig.circuit("infobip") == (0, None)


def test_a_request_the_next_provider_cannot_carry_is_refused_naming_it(rig: Rig) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        rig.accept("a@example.com", template_id="tpl-1", subject=None, text=None)
    assert "postmark" in " ".join(refused.value.errors["template_id"])


def test_a_request_that_names_its_provider_does_not_fail_over(rig: Rig) -> None:
    [a] = rig.accept("a@example.com", provider="infobip")
    with rig.database.sessions() as session:
        document = session.execute(
            select(OutboxMessage.document).where(OutboxMessage.public_id == a)
        ).scalar_one()
    assert document["route"] == ["infobip"]
