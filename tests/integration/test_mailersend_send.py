"""Sending through MailerSend end to end in one process: the send API and the dispatcher from
the settings (``EMAILHOOK_MAILERSEND_API_TOKEN``, ``_API_URL``) against the fake MailerSend,
then MailerSend's own activity webhook, signed (HMAC-SHA256 in ``Signature``) and posted
through its path, joins the message: MailerSend echoes no metadata, so by the message id its
send answered (``X-Message-Id``, the event's ``data.email.message.id``) and the recipient."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from emailhook.adapters.db.models import OutboxMessage
from emailhook.service.receive.processing import Processor
from emailhook.settings import Settings
from support.fake_senders import FakeMailerSend
from support.policies import retry, soft_bounces
from support.send_app import AUTH, SEND_KEY, accept
from support.send_app import dispatch as _dispatch
from support.send_app import message as _message
from support.signing import mailersend_signature

EMAIL = "/v1/email"
SECRET = "ms-signing-secret"


@pytest.fixture
def mailersend() -> Iterator[FakeMailerSend]:
    with FakeMailerSend(api_token="mlsn.test-token") as fake:
        yield fake


@pytest.fixture
def settings(tmp_path: Path, mailersend: FakeMailerSend) -> Settings:
    return Settings(
        data_dir=tmp_path,
        send_api_keys=SEND_KEY,
        send_provider="mailersend",
        mailersend_api_token="mlsn.test-token",
        mailersend_api_url=mailersend.base_url,
        mailersend_send_rate=1000.0,
        mailersend_signing_secrets=SECRET,
        send_timeout_seconds=1.0,
        send_lookup_grace_seconds=0.01,
        intake="database",
    )  # type: ignore[call-arg]


def _accept(app: Flask, *to: Any, **fields: Any) -> list[str]:
    # MailerSend wants a named sender and an html part
    return accept(app, *to, **{"from": "Shop <shop@example.com>", "html": "<p>Hello</p>", **fields})


def test_a_message_sent_through_mailersend_is_joined_by_its_signed_delivered_activity(
    app: Flask, settings: Settings, mailersend: FakeMailerSend
) -> None:
    [public_id] = _accept(app, {"email": "ann@example.com", "name": "Ann"}, tags=["june"])
    services = app.extensions["emailhook"]
    _dispatch(settings, app, [public_id])
    sent = _message(app, public_id)
    assert (sent["status"], sent["provider"]) == ("sent", "mailersend")
    [row] = list(mailersend.ledger)
    assert row.echo == {"tags": ["june"]}  # MailerSend echoes tags, no metadata
    assert sent["provider_message_id"] == row.provider_id
    activity = {
        "type": "activity.delivered",
        "created_at": "2026-12-06T21:09:51.000000Z",
        "webhook_id": "7z3m5jgrogdpqrew",
        "url": "https://hooks.example.test/webhooks/mailersend",
        "data": {
            "object": "activity",
            "id": "63fd1c1fcfbe46145d003a7b",
            "type": "delivered",
            "created_at": "2026-12-06T21:09:51.865000Z",
            "email": {
                "status": "delivered",
                "tags": ["june"],
                "message": {"id": row.provider_id},
                "recipient": {"email": "ann@example.com"},
            },
            "morph": None,
        },
    }
    body = json.dumps(activity).encode()
    answer = app.test_client().post(
        "/webhooks/mailersend",
        data=body,
        headers={"Signature": mailersend_signature(SECRET, body)},
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.get_data()
    Processor(services.database.sessions, retry(), soft_bounces=soft_bounces()).process(
        [int(answer.get_json()["id"])]
    )
    joined = _message(app, public_id)
    assert [(e["provider"], e["event_type"]) for e in joined["events"]] == [
        ("mailersend", "delivered")
    ]
    assert joined["outcome"]["delivered"] is not None


def test_a_suppressed_recipient_is_rejected_with_mailersends_reason(
    app: Flask, settings: Settings, mailersend: FakeMailerSend
) -> None:
    mailersend.suppress("gone@example.com", "spam_complaint")
    ann, gone = _accept(app, "ann@example.com", "gone@example.com")
    _dispatch(settings, app, [ann, gone])
    assert _message(app, ann)["status"] == "sent"
    refused = _message(app, gone)
    assert refused["status"] == "rejected"
    assert refused["reason"] == "ALL_SUPPRESSED: spam_complaint"
    assert refused["attempts"][0]["outcome"] == "rejected"
    assert mailersend.ledger.recipients() == ["ann@example.com"]
    [again] = _accept(app, "gone@example.com")  # MailerSend's list is ours now
    assert _message(app, again)["status"] == "suppressed"


def test_metadata_is_refused_at_accept_naming_the_field(app: Flask) -> None:
    body = {
        "from": "shop@example.com",
        "subject": "Hi",
        "text": "Hello",
        "html": "<p>Hello</p>",
        "to": ["ann@example.com"],
        "metadata": {"campaign": "june"},
    }
    answer = app.test_client().post("/messages", json=body, headers=AUTH)
    assert answer.status_code == 400
    assert "metadata" in answer.get_json()["errors"]


def test_a_thousand_recipients_go_one_message_a_call(
    app: Flask, settings: Settings, mailersend: FakeMailerSend
) -> None:
    ids = _accept(app, *(f"r{n}@example.com" for n in range(1000)))
    _dispatch(settings, app, ids)
    bodies = mailersend.bodies(EMAIL)
    assert len(bodies) == 1000
    assert {len(b["to"]) for b in bodies} == {1}
    assert sorted(mailersend.ledger.recipients()) == sorted(
        f"r{n}@example.com" for n in range(1000)
    )
    ids_by_id = {_message(app, i)["provider_message_id"] for i in ids[:5]}
    assert len(ids_by_id) == 5  # each message its own X-Message-Id


def test_a_429_waits_for_retry_after_and_sends_later(
    app: Flask, settings: Settings, mailersend: FakeMailerSend
) -> None:
    mailersend.throttle(retry_after=30)
    [public_id] = _accept(app, "ann@example.com")
    _dispatch(settings, app, [public_id])
    queued = _message(app, public_id)
    assert queued["status"] == "queued"
    assert queued["attempts"][0]["outcome"] == "retry"
    assert queued["reason"] == "HTTP 429: Too Many Attempts."
    assert len(list(mailersend.ledger)) == 0
    with app.extensions["emailhook"].database.sessions() as session:
        due = session.execute(
            select(OutboxMessage.due_at).where(OutboxMessage.public_id == public_id)
        ).scalar_one()
    wait = (due.replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds()
    assert 20 < wait < 40  # retry-after: 30


def test_a_refused_request_fails_with_mailersends_words(
    app: Flask, settings: Settings, mailersend: FakeMailerSend
) -> None:
    mailersend.fail(422, body={"message": "The from.email must be verified.", "errors": {}})
    [public_id] = _accept(app, "ann@example.com")
    _dispatch(settings, app, [public_id])
    failed = _message(app, public_id)
    assert failed["status"] == "failed"
    assert failed["reason"] == "HTTP 422: The from.email must be verified."


@pytest.mark.parametrize("fault", ["5xx", "late answer"])
def test_an_ambiguous_failure_is_never_sent_again(
    app: Flask, settings: Settings, mailersend: FakeMailerSend, fault: str
) -> None:
    if fault == "5xx":
        mailersend.fail(500)
    else:
        mailersend.answer_late(3)
    [public_id] = _accept(app, "ann@example.com")
    _dispatch(settings, app, [public_id])
    assert _message(app, public_id)["status"] == "sending"  # MailerSend may have it
    time.sleep(0.05)
    _dispatch(settings, app, [public_id])
    dead = _message(app, public_id)
    assert dead["status"] == "dead"
    assert "cannot be asked" in dead["reason"]
    assert len(mailersend.bodies(EMAIL)) == 1
    assert len(list(mailersend.ledger)) == (0 if fault == "5xx" else 1)
