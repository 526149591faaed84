"""Sending through Resend end to end in one process: the send API and the dispatcher from
the settings (``EMAILHOOK_RESEND_API_KEY``, ``_API_URL``) against the fake Resend, then
Resend's own webhook, signed by Svix and posted through its path, joins the message (by our
id in its tags). An ambiguous failure is settled by Resend's Idempotency-Key: the same
request again, answered from Resend's memory, never a second copy."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from emailhook.adapters.db.models import OutboxMessage
from emailhook.service.receive.processing import Processor
from emailhook.settings import Settings
from support.fake_senders import FakeResend
from support.policies import retry, soft_bounces
from support.send_app import AUTH, SEND_KEY
from support.send_app import accept as _accept
from support.send_app import dispatch as _dispatch
from support.send_app import message as _message
from support.sent_messages import suppress_hard_bounce
from support.signing import svix_headers, svix_secret

BATCH = "/emails/batch"
SECRET = svix_secret(b"resend-webhook-secret-bytes-0001")


@pytest.fixture
def resend() -> Iterator[FakeResend]:
    with FakeResend(api_key="re_test_key") as fake:
        yield fake


@pytest.fixture
def settings(tmp_path: Path, resend: FakeResend) -> Settings:
    return Settings(
        data_dir=tmp_path,
        send_api_keys=SEND_KEY,
        send_provider="resend",
        resend_api_key="re_test_key",
        resend_api_url=resend.url,
        resend_send_rate=1000.0,
        resend_signing_secrets=SECRET,
        send_timeout_seconds=1.0,
        send_lookup_grace_seconds=0.01,
        intake="database",
    )  # type: ignore[call-arg]


def test_a_message_sent_through_resend_is_joined_by_its_signed_delivered_event(
    app: Flask, settings: Settings, resend: FakeResend
) -> None:
    [public_id] = _accept(app, {"email": "ann@example.com", "metadata": {"qj_contact_id": 7}})
    services = app.extensions["emailhook"]
    _dispatch(settings, app, [public_id])
    sent = _message(app, public_id)
    assert (sent["status"], sent["provider"]) == ("sent", "resend")
    [row] = list(resend.ledger)
    assert row.echo["emailhook_id"] == public_id
    assert sent["provider_message_id"] == row.provider_id
    delivered = {
        "type": "email.delivered",
        "created_at": "2026-12-06T13:28:10.000Z",
        "data": {
            "created_at": "2026-12-06T13:28:09.000Z",
            "email_id": row.provider_id,
            "from": "shop@example.com",
            "to": ["ann@example.com"],
            "subject": "Hi",
            "tags": row.echo,  # Resend echoes the tags as an object
        },
    }
    body = json.dumps(delivered).encode()
    headers = svix_headers(SECRET, f"msg_{uuid.uuid4().hex}", int(time.time()), body)
    answer = app.test_client().post(
        "/webhooks/resend", data=body, headers=headers, content_type="application/json"
    )
    assert answer.status_code == 200, answer.get_data()
    Processor(services.database.sessions, retry(), soft_bounces=soft_bounces()).process(
        [int(answer.get_json()["id"])]
    )
    joined = _message(app, public_id)
    assert [(e["provider"], e["event_type"]) for e in joined["events"]] == [("resend", "delivered")]
    assert joined["outcome"]["delivered"] is not None


def test_a_thousand_recipients_go_in_batches_of_a_hundred_each_with_our_id(
    app: Flask, settings: Settings, resend: FakeResend
) -> None:
    ids = _accept(app, *(f"r{n}@example.com" for n in range(1000)))
    _dispatch(settings, app, ids)
    assert [len(b) for b in resend.bodies(BATCH)] == [100] * 10
    keys = {r.header("Idempotency-Key") for r in resend.requests}
    assert len(keys) == 10
    resend.ledger.assert_once("emailhook_id", ids)


def test_what_resend_cannot_carry_is_refused_at_accept_naming_the_field(app: Flask) -> None:
    body = {
        "from": "shop@example.com",
        "subject": "Hi",
        "text": "Hello",
        "to": ["ann@example.com"],
        "track_opens": True,
        "attachments": [{"filename": "a.txt", "content": "aGk=", "content_type": "text/plain"}],
    }
    answer = app.test_client().post("/messages", json=body, headers=AUTH)
    assert answer.status_code == 400
    assert {"track_opens", "attachments"} <= set(json.dumps(answer.get_json()).split('"'))
    spaced = body | {"metadata": {"campaign": "june 2026"}}
    del spaced["track_opens"], spaced["attachments"]
    answer = app.test_client().post("/messages", json=spaced, headers=AUTH)
    assert answer.status_code == 400
    assert "june 2026" in json.dumps(answer.get_json())


def test_a_429_waits_and_sends_later(app: Flask, settings: Settings, resend: FakeResend) -> None:
    resend.throttle(retry_after=30)
    [public_id] = _accept(app, "ann@example.com")
    _dispatch(settings, app, [public_id])
    queued = _message(app, public_id)
    assert queued["status"] == "queued"
    assert queued["attempts"][0]["outcome"] == "retry"
    assert "rate_limit_exceeded" in queued["reason"]
    assert len(list(resend.ledger)) == 0
    with app.extensions["emailhook"].database.sessions() as session:
        due = session.execute(
            select(OutboxMessage.due_at).where(OutboxMessage.public_id == public_id)
        ).scalar_one()
    wait = (due.replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds()
    assert 20 < wait < 40  # retry-after: 30


def test_a_refused_request_fails_with_resends_words(
    app: Flask, settings: Settings, resend: FakeResend
) -> None:
    resend.fail(422)
    [public_id] = _accept(app, "ann@example.com")
    _dispatch(settings, app, [public_id])
    failed = _message(app, public_id)
    assert failed["status"] == "failed"
    assert failed["reason"].startswith("422 validation_error")


@pytest.mark.parametrize("fault", ["5xx", "late answer", "lost answer"])
def test_an_ambiguous_failure_is_sent_again_under_the_same_key_and_delivered_once(
    app: Flask, settings: Settings, resend: FakeResend, fault: str
) -> None:
    if fault == "5xx":
        resend.fail(500)
    elif fault == "late answer":
        resend.answer_late(3)
    else:
        resend.lose_answer()
    ids = _accept(app, "ann@example.com", "bob@example.com")
    _dispatch(settings, app, ids)
    assert {_message(app, i)["status"] for i in ids} == {"sending"}  # Resend may have them
    time.sleep(0.05)
    _dispatch(settings, app, ids)
    sent = [_message(app, i) for i in ids]
    assert {m["status"] for m in sent} == {"sent"}
    first, again = resend.requests[-2:]
    assert first.header("Idempotency-Key") == again.header("Idempotency-Key")
    assert first.body == again.body
    resend.ledger.assert_once("emailhook_id", ids)
    by_id = {r.echo["emailhook_id"]: r.provider_id for r in resend.ledger}
    assert [m["provider_message_id"] for m in sent] == [by_id[i] for i in ids]


def test_a_resend_while_the_first_is_in_flight_stays_uncertain_then_sends_once(
    app: Flask, settings: Settings, resend: FakeResend
) -> None:
    resend.hang()
    [public_id] = _accept(app, "ann@example.com")
    _dispatch(settings, app, [public_id])  # times out: the request hangs at Resend
    time.sleep(0.05)
    _dispatch(settings, app, [public_id])  # the same key while the first is in flight: 409
    uncertain = _message(app, public_id)
    assert uncertain["status"] == "sending"
    assert "concurrent_idempotent_requests" in uncertain["reason"]
    resend.release()  # the first ends unanswered and unsent
    time.sleep(0.05)
    _dispatch(settings, app, [public_id])
    assert _message(app, public_id)["status"] == "sent"
    resend.ledger.assert_once("emailhook_id", [public_id])


def test_uncertain_messages_go_again_with_their_first_request_alone(
    app: Flask, settings: Settings, resend: FakeResend
) -> None:
    resend.lose_answer()
    first = _accept(app, "ann@example.com", "bob@example.com")
    _dispatch(settings, app, first)
    later = _accept(app, "cy@example.com")
    time.sleep(0.05)
    _dispatch(settings, app, first + later)  # one task: the uncertain two and a new one
    lost, *again = resend.requests
    assert sorted(len(json.loads(r.body)) for r in again) == [1, 2]
    [replay] = [r for r in again if r.header("Idempotency-Key") == lost.header("Idempotency-Key")]
    assert replay.body == lost.body
    resend.ledger.assert_once("emailhook_id", first + later)
    assert {_message(app, i)["status"] for i in first + later} == {"sent"}


def test_an_uncertain_call_goes_again_whole_though_a_recipient_was_suppressed_since(
    app: Flask, settings: Settings, resend: FakeResend
) -> None:
    # dropping the suppressed one would make a new key, and the other a second copy
    resend.lose_answer()  # Resend sends both and the answer is lost
    ids = _accept(app, "ann@example.com", "bob@example.com")
    _dispatch(settings, app, ids)
    assert {_message(app, i)["status"] for i in ids} == {"sending"}
    suppress_hard_bounce(app, "bob@example.com")
    time.sleep(0.05)
    _dispatch(settings, app, ids)
    lost, again = resend.requests
    assert again.header("Idempotency-Key") == lost.header("Idempotency-Key")
    assert again.body == lost.body
    resend.ledger.assert_once("emailhook_id", ids)  # each once, bob's before his bounce
    assert {_message(app, i)["status"] for i in ids} == {"sent"}
    [later] = _accept(app, "bob@example.com")  # and nothing new goes to him
    assert _message(app, later)["status"] == "suppressed"
