"""Sending through Brevo end to end in one process: the send API and the dispatcher from the
settings (``EMAILHOOK_BREVO_API_KEY``, ``_API_URL``) against the fake Brevo, then Brevo's own
webhook, behind its Basic auth and posted through its path, joins the message (by our id in
the ``X-Mailin-custom`` header it echoes). An ambiguous failure is settled by Brevo's
idempotencyKey: the same call again, which Brevo refuses as a duplicate when it holds the
first, never a second copy; past the key's window the message is dead-lettered."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from emailhook.adapters.db.models import OutboxMessage
from emailhook.providers.brevo.send import IDEMPOTENCY_WINDOW
from emailhook.service.receive.processing import Processor
from emailhook.settings import Settings
from support.fake_senders import FakeBrevo
from support.policies import retry, soft_bounces
from support.send_app import AUTH, SEND_KEY
from support.send_app import accept as _accept
from support.send_app import dispatch as _dispatch
from support.send_app import message as _message

SEND = "/v3/smtp/email"
HOOK = "brevo-hook:s3cret-pass"


@pytest.fixture
def brevo() -> Iterator[FakeBrevo]:
    with FakeBrevo(api_key="xkeysib-test") as fake:
        yield fake


@pytest.fixture
def settings(tmp_path: Path, brevo: FakeBrevo) -> Settings:
    return Settings(
        data_dir=tmp_path,
        send_api_keys=SEND_KEY,
        send_provider="brevo",
        brevo_api_key="xkeysib-test",
        brevo_api_url=brevo.base_url,
        brevo_send_rate=1000.0,
        brevo_basic_auth=HOOK,
        send_timeout_seconds=1.0,
        send_lookup_grace_seconds=0.01,
        intake="database",
    )  # type: ignore[call-arg]


def _post_event(app: Flask, event: dict[str, Any]) -> None:
    basic = "Basic " + base64.b64encode(HOOK.encode()).decode()
    answer = app.test_client().post(
        "/webhooks/brevo",
        data=json.dumps(event).encode(),
        headers={"Authorization": basic},
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.get_data()
    services = app.extensions["emailhook"]
    Processor(services.database.sessions, retry(), soft_bounces=soft_bounces()).process(
        [int(answer.get_json()["id"])]
    )


def _event(brevo: FakeBrevo, status: str, **more: Any) -> dict[str, Any]:
    [row] = list(brevo.ledger)
    return {
        "event": status,
        "email": row.recipient,
        "id": 1,
        "ts_epoch": int(time.time() * 1000),
        "message-id": row.provider_id,
        "subject": "Hi",
        # Brevo echoes the header as it was sent, a JSON text
        "X-Mailin-custom": row.raw["headers"]["X-Mailin-custom"],
        **more,
    }


def test_a_message_sent_through_brevo_is_joined_by_its_delivered_event(
    app: Flask, settings: Settings, brevo: FakeBrevo
) -> None:
    [public_id] = _accept(app, {"email": "ann@example.com", "metadata": {"qj_contact_id": 7}})
    _dispatch(settings, app, [public_id])
    sent = _message(app, public_id)
    assert (sent["status"], sent["provider"]) == ("sent", "brevo")
    [row] = list(brevo.ledger)
    assert row.echo["emailhook_id"] == public_id
    assert row.echo["qj_contact_id"] == 7
    assert sent["provider_message_id"] == row.provider_id
    [request] = brevo.requests
    assert request.header("api-key") == "xkeysib-test"
    _post_event(app, _event(brevo, "delivered"))
    joined = _message(app, public_id)
    assert [(e["provider"], e["event_type"]) for e in joined["events"]] == [("brevo", "delivered")]
    assert joined["outcome"]["delivered"] is not None


def test_a_blocked_recipient_is_accepted_then_rejected_by_brevos_event(
    app: Flask, settings: Settings, brevo: FakeBrevo
) -> None:
    # Brevo refuses no recipient in its answer: a blocklisted one is reported by an event
    brevo.suppress("ann@example.com", "blocked : due to blacklist user")
    [public_id] = _accept(app, "ann@example.com")
    _dispatch(settings, app, [public_id])
    assert _message(app, public_id)["status"] == "sent"
    _post_event(app, _event(brevo, "blocked", reason="blocked : due to blacklist user"))
    [event] = _message(app, public_id)["events"]
    assert (event["event_type"], event["reject_reason"]) == ("rejected", "bounced")


def test_a_thousand_recipients_go_in_one_call_each_with_our_id(
    app: Flask, settings: Settings, brevo: FakeBrevo
) -> None:
    ids = _accept(app, *(f"r{n}@example.com" for n in range(1000)))
    _dispatch(settings, app, ids)
    [request] = brevo.bodies(SEND)
    assert len(request["messageVersions"]) == 1000
    brevo.ledger.assert_once("emailhook_id", ids)
    assert {_message(app, i)["status"] for i in ids[:3]} == {"sent"}


def test_what_brevo_cannot_carry_is_refused_at_accept_naming_the_field(app: Flask) -> None:
    body = {
        "from": "shop@example.com",
        "subject": "Hi",
        "text": "Hello",
        "to": ["ann@example.com"],
        "track_opens": True,
    }
    answer = app.test_client().post("/messages", json=body, headers=AUTH)
    assert answer.status_code == 400
    assert "track_opens" in json.dumps(answer.get_json())
    custom = {**body, "headers": {"X-Mailin-custom": "mine"}}
    del custom["track_opens"]
    answer = app.test_client().post("/messages", json=custom, headers=AUTH)
    assert answer.status_code == 400
    assert "X-Mailin-custom" in json.dumps(answer.get_json())


def test_a_429_waits_for_the_reset_and_sends_later(
    app: Flask, settings: Settings, brevo: FakeBrevo
) -> None:
    brevo.throttle(retry_after=30)
    [public_id] = _accept(app, "ann@example.com")
    _dispatch(settings, app, [public_id])
    queued = _message(app, public_id)
    assert queued["status"] == "queued"
    assert queued["attempts"][0]["outcome"] == "retry"
    assert "too_many_requests" in queued["reason"]
    assert len(list(brevo.ledger)) == 0
    with app.extensions["emailhook"].database.sessions() as session:
        due = session.execute(
            select(OutboxMessage.due_at).where(OutboxMessage.public_id == public_id)
        ).scalar_one()
    wait = (due.replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds()
    assert 20 < wait < 40  # x-sib-ratelimit-reset: 30


def test_a_refused_request_fails_with_brevos_words(
    app: Flask, settings: Settings, brevo: FakeBrevo
) -> None:
    brevo.fail(400, body={"code": "invalid_parameter", "message": "sender is invalid"})
    [public_id] = _accept(app, "ann@example.com")
    _dispatch(settings, app, [public_id])
    failed = _message(app, public_id)
    assert failed["status"] == "failed"
    assert failed["reason"] == "400 invalid_parameter: sender is invalid"


@pytest.mark.parametrize("fault", ["5xx", "late answer", "lost answer"])
def test_an_ambiguous_failure_is_sent_again_under_the_same_key_and_delivered_once(
    app: Flask, settings: Settings, brevo: FakeBrevo, fault: str
) -> None:
    if fault == "5xx":
        brevo.fail(500)
    elif fault == "late answer":
        brevo.answer_late(3)
    else:
        brevo.lose_answer()
    ids = _accept(app, "ann@example.com", "bob@example.com")
    _dispatch(settings, app, ids)
    assert {_message(app, i)["status"] for i in ids} == {"sending"}  # Brevo may have them
    time.sleep(0.05)
    _dispatch(settings, app, ids)
    sent = [_message(app, i) for i in ids]
    assert {m["status"] for m in sent} == {"sent"}
    first, again = brevo.requests[-2:]
    assert first.body == again.body  # the same call, under the same idempotencyKey
    brevo.ledger.assert_once("emailhook_id", ids)
    if fault != "5xx":  # Brevo held the first: the duplicate says so, with no id of its own
        assert all("duplicate_parameter" in m["attempts"][-1]["reason"] for m in sent)


def test_an_uncertain_message_past_the_keys_window_is_dead_lettered_not_resent(
    app: Flask, settings: Settings, brevo: FakeBrevo
) -> None:
    brevo.lose_answer()
    [public_id] = _accept(app, "ann@example.com")
    _dispatch(settings, app, [public_id])
    assert _message(app, public_id)["status"] == "sending"
    # the worker comes back after Brevo may have forgotten the key: a resend could be a copy
    long_ago = datetime.now(UTC) - timedelta(seconds=IDEMPOTENCY_WINDOW + 60)
    with app.extensions["emailhook"].database.sessions.begin() as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.public_id == public_id)
            .values(attempted_at=long_ago, due_at=long_ago)
        )
    _dispatch(settings, app, [public_id])
    dead = _message(app, public_id)
    assert dead["status"] == "dead"
    assert "idempotency key" in dead["reason"]
    assert len(brevo.requests) == 1
    brevo.ledger.assert_once("emailhook_id", [public_id])
