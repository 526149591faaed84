"""Sending through Mailgun end to end in one process: the send API and the dispatcher from the
settings (``EMAILHOOK_MAILGUN_API_KEY``, ``_DOMAIN``, ``_API_URL``) against the fake Mailgun,
then Mailgun's own signed ``delivered`` webhook, posted through its path, joins the message."""

from __future__ import annotations

import copy
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask

from emailhook.service.receive.processing import Processor
from emailhook.settings import Settings
from support.fake_senders import FakeMailgun
from support.policies import retry, soft_bounces
from support.provider_posts import Senders
from support.send_app import SEND_KEY
from support.send_app import accept as _accept
from support.send_app import dispatch as _dispatch
from support.send_app import message as _message
from support.signing import sample

DOMAIN = "mg.example.com"


@pytest.fixture
def mailgun() -> Iterator[FakeMailgun]:
    with FakeMailgun(api_key="key-mg", domains=(DOMAIN,)) as fake:
        yield fake


@pytest.fixture
def senders() -> Senders:
    return Senders("http://127.0.0.1:9")  # no SNS here: only Mailgun's signing key is used


@pytest.fixture
def settings(tmp_path: Path, mailgun: FakeMailgun, senders: Senders) -> Settings:
    return Settings(
        data_dir=tmp_path,
        send_api_keys=SEND_KEY,
        send_provider="mailgun",
        mailgun_api_key="key-mg",
        mailgun_domain=DOMAIN,
        mailgun_api_url=mailgun.url,
        mailgun_signing_keys=senders.mailgun_key,
        mailgun_send_rate=1000.0,
        send_timeout_seconds=1.0,
        intake="database",
    )  # type: ignore[call-arg]


def test_a_message_sent_through_mailgun_is_joined_by_mailguns_delivered_webhook(
    app: Flask, settings: Settings, mailgun: FakeMailgun, senders: Senders
) -> None:
    [public_id] = _accept(app, {"email": "ann@example.com", "metadata": {"qj_contact_id": 7}})
    services = app.extensions["emailhook"]
    _dispatch(settings, app, [public_id])
    sent = _message(app, public_id)
    assert (sent["status"], sent["provider"]) == ("sent", "mailgun")
    [row] = list(mailgun.ledger)
    assert row.echo["emailhook_id"] == public_id
    assert row.echo["qj_contact_id"] == "7"
    assert sent["provider_message_id"] == row.provider_id
    event = copy.deepcopy(sample("mailgun", "delivered_event"))
    data = event["event-data"]
    data["id"] = secrets.token_hex(8)
    data["timestamp"] = time.time()
    data["recipient"] = "ann@example.com"
    data["message"]["headers"]["to"] = "ann@example.com"
    # Mailgun's events name the message id without its angle brackets
    data["message"]["headers"]["message-id"] = row.provider_id.strip("<>")
    data["user-variables"] = row.echo
    post = senders.post("mailgun", "delivered_event", data=event, now=datetime.now(UTC))
    answer = app.test_client().post("/webhooks/mailgun", data=post.body, headers=post.headers)
    assert answer.status_code == 200, answer.get_data()
    Processor(services.database.sessions, retry(), soft_bounces=soft_bounces()).process(
        [int(answer.get_json()["id"])]
    )
    joined = _message(app, public_id)
    assert [(e["provider"], e["event_type"]) for e in joined["events"]] == [
        ("mailgun", "delivered")
    ]
    assert joined["outcome"]["delivered"] is not None


def test_one_call_sends_a_batch_each_copy_with_its_own_id(
    app: Flask, settings: Settings, mailgun: FakeMailgun
) -> None:
    to = [{"email": f"r{n}@example.com", "metadata": {"qj_contact_id": n}} for n in range(30)]
    ids = _accept(app, *to, tags=["june"])
    _dispatch(settings, app, ids)
    assert len(mailgun.requests) == 1
    assert {_message(app, i)["status"] for i in ids} == {"sent"}
    mailgun.ledger.assert_once("emailhook_id", ids)
    by_id = {row.echo["emailhook_id"]: row for row in mailgun.ledger}
    assert [by_id[i].echo["qj_contact_id"] for i in ids] == [str(n) for n in range(30)]


def test_a_thousand_recipients_go_in_one_call_each_copy_with_its_own_id(
    app: Flask, settings: Settings, mailgun: FakeMailgun
) -> None:
    to = [f"r{n}@example.com" for n in range(1000)]
    ids = _accept(app, *to)
    _dispatch(settings, app, ids)
    [request] = mailgun.requests
    assert request.path == f"/v3/{DOMAIN}/messages"
    assert sorted(mailgun.ledger.recipients()) == sorted(to)
    mailgun.ledger.assert_once("emailhook_id", ids)
    by_id = {row.echo["emailhook_id"]: row.recipient for row in mailgun.ledger}
    assert [by_id[i] for i in ids] == to  # each copy carries its own recipient's id
    assert {_message(app, i)["status"] for i in ids[::97]} == {"sent"}


def test_two_messages_to_one_address_never_share_a_call(
    app: Flask, settings: Settings, mailgun: FakeMailgun
) -> None:
    ids = _accept(app, "ann@example.com") + _accept(app, "ann@example.com")
    _dispatch(settings, app, ids)
    assert len(mailgun.requests) == 2
    mailgun.ledger.assert_once("emailhook_id", ids)


def test_throttling_is_retried_a_refusal_fails_a_5xx_is_never_resent(
    app: Flask, settings: Settings, mailgun: FakeMailgun
) -> None:
    mailgun.throttle()
    [throttled] = _accept(app, "ann@example.com")
    _dispatch(settings, app, [throttled])
    assert _message(app, throttled)["status"] == "queued"
    mailgun.fail(400, body={"message": "'from' parameter is not a valid address"})
    [refused] = _accept(app, "bob@example.com")
    _dispatch(settings, app, [refused])
    found = _message(app, refused)
    assert found["status"] == "failed"
    assert "not a valid address" in found["reason"]
    mailgun.fail(503)
    [uncertain] = _accept(app, "cy@example.com")
    _dispatch(settings, app, [uncertain])
    assert _message(app, uncertain)["status"] == "sending"
    assert list(mailgun.ledger) == []


def test_an_answer_lost_after_acceptance_is_never_sent_twice(
    app: Flask, settings: Settings, mailgun: FakeMailgun
) -> None:
    mailgun.answer_late(3)
    [public_id] = _accept(app, "ann@example.com")
    _dispatch(settings, app, [public_id])
    assert _message(app, public_id)["status"] == "sending"
    _dispatch(settings, app, [public_id])  # the task again, at once: held, nothing sent
    mailgun.ledger.assert_once("emailhook_id", [public_id])
