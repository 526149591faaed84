"""Sending through SendGrid end to end in one process: the send API and the dispatcher from
the settings (``EMAILHOOK_SENDGRID_API_KEY``, ``_API_URL``) against the fake SendGrid, then
SendGrid's own Event Webhook, signed with ECDSA and posted through its path, joins the
message (by our id in ``custom_args``; its ``sg_message_id`` begins with the X-Message-Id)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from emailhook.adapters.db.models import OutboxMessage
from emailhook.service.receive.processing import Processor
from emailhook.settings import Settings
from support.fake_senders import FakeSendGrid
from support.policies import retry, soft_bounces
from support.send_app import SEND_KEY
from support.send_app import accept as _accept
from support.send_app import dispatch as _dispatch
from support.send_app import message as _message
from support.signing import SendGridSigner

SEND = "/v3/mail/send"


@pytest.fixture
def sendgrid() -> Iterator[FakeSendGrid]:
    with FakeSendGrid(api_key="SG.test-key") as fake:
        yield fake


@pytest.fixture
def signer() -> SendGridSigner:
    return SendGridSigner()


@pytest.fixture
def settings(tmp_path: Path, sendgrid: FakeSendGrid, signer: SendGridSigner) -> Settings:
    return Settings(
        data_dir=tmp_path,
        send_api_keys=SEND_KEY,
        send_provider="sendgrid",
        sendgrid_api_key="SG.test-key",
        sendgrid_api_url=sendgrid.url,
        sendgrid_send_rate=1000.0,
        sendgrid_public_keys=signer.public_key,
        send_timeout_seconds=1.0,
        send_lookup_grace_seconds=0.01,
        intake="database",
    )  # type: ignore[call-arg]


def test_a_message_sent_through_sendgrid_is_joined_by_its_signed_delivered_event(
    app: Flask, settings: Settings, sendgrid: FakeSendGrid, signer: SendGridSigner
) -> None:
    [public_id] = _accept(app, {"email": "ann@example.com", "metadata": {"qj_contact_id": 7}})
    services = app.extensions["emailhook"]
    _dispatch(settings, app, [public_id])
    sent = _message(app, public_id)
    assert (sent["status"], sent["provider"]) == ("sent", "sendgrid")
    [row] = list(sendgrid.ledger)
    assert row.echo["emailhook_id"] == public_id
    assert sent["provider_message_id"] == row.provider_id
    delivered = [
        {
            "email": "ann@example.com",
            "timestamp": int(time.time()),
            "smtp-id": f"<{row.provider_id}@ismtpd0001p1lon1.sendgrid.net>",
            "event": "delivered",
            "sg_event_id": "ZGVsaXZlcmVkLTAtMjQ2",
            "sg_message_id": f"{row.provider_id}.filter0001.16648.5515E0B88.0",
            "response": "250 OK",
            **row.echo,  # SendGrid puts the custom args at the event's top level
        }
    ]
    body = json.dumps(delivered).encode()
    answer = app.test_client().post(
        "/webhooks/sendgrid",
        data=body,
        headers=signer.headers(body, int(time.time())),
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.get_data()
    Processor(services.database.sessions, retry(), soft_bounces=soft_bounces()).process(
        [int(answer.get_json()["id"])]
    )
    joined = _message(app, public_id)
    assert [(e["provider"], e["event_type"]) for e in joined["events"]] == [
        ("sendgrid", "delivered")
    ]
    assert joined["outcome"]["delivered"] is not None


def test_a_thousand_recipients_go_in_one_request_each_with_our_id(
    app: Flask, settings: Settings, sendgrid: FakeSendGrid
) -> None:
    ids = _accept(app, *(f"r{n}@example.com" for n in range(1000)))
    _dispatch(settings, app, ids)
    [request] = sendgrid.bodies(SEND)
    assert len(request["personalizations"]) == 1000
    sendgrid.ledger.assert_once("emailhook_id", ids)
    assert {_message(app, i)["status"] for i in ids[:3]} == {"sent"}


def test_a_429_waits_for_the_reset_and_sends_later(
    app: Flask, settings: Settings, sendgrid: FakeSendGrid
) -> None:
    sendgrid.throttle(retry_after=30)
    [public_id] = _accept(app, "ann@example.com")
    _dispatch(settings, app, [public_id])
    queued = _message(app, public_id)
    assert queued["status"] == "queued"
    assert queued["attempts"][0]["outcome"] == "retry"
    assert "too many requests" in queued["reason"]
    assert len(list(sendgrid.ledger)) == 0
    with app.extensions["emailhook"].database.sessions() as session:
        due = session.execute(
            select(OutboxMessage.due_at).where(OutboxMessage.public_id == public_id)
        ).scalar_one()
    wait = (due.replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds()
    assert 20 < wait < 40  # X-RateLimit-Reset, 30 s away


def test_a_refused_request_fails_with_sendgrids_words(
    app: Flask, settings: Settings, sendgrid: FakeSendGrid
) -> None:
    sendgrid.fail(400, body={"errors": [{"message": "bad from", "field": "from", "help": None}]})
    [public_id] = _accept(app, "ann@example.com")
    _dispatch(settings, app, [public_id])
    failed = _message(app, public_id)
    assert failed["status"] == "failed"
    assert failed["reason"] == "HTTP 400: from: bad from"


@pytest.mark.parametrize("fault", ["5xx", "late answer"])
def test_an_ambiguous_failure_is_never_sent_again(
    app: Flask, settings: Settings, sendgrid: FakeSendGrid, fault: str
) -> None:
    if fault == "5xx":
        sendgrid.fail(500)
    else:
        sendgrid.answer_late(3)
    [public_id] = _accept(app, "ann@example.com")
    _dispatch(settings, app, [public_id])
    assert _message(app, public_id)["status"] == "sending"  # SendGrid may have it
    time.sleep(0.05)
    _dispatch(settings, app, [public_id])
    dead = _message(app, public_id)
    assert dead["status"] == "dead"
    assert "cannot be asked" in dead["reason"]
    assert len(sendgrid.bodies(SEND)) == 1
    assert len(list(sendgrid.ledger)) == (0 if fault == "5xx" else 1)
