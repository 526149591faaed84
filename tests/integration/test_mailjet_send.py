"""Sending through Mailjet end to end in one process: the send API and the dispatcher from the
settings (``EMAILHOOK_MAILJET_API_KEY``, ``_SECRET_KEY``, ``_API_URL``) against the fake
Mailjet, then Mailjet's own event webhook (HTTP Basic), posted through its path, joins the
message (by our id in the event's ``Payload``, Mailjet's echo of our ``EventPayload``)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from emailhook.service.receive.processing import Processor
from emailhook.settings import Settings
from support.fake_senders import FakeMailjet
from support.policies import retry, soft_bounces
from support.send_app import SEND_KEY
from support.send_app import accept as _accept
from support.send_app import dispatch as _dispatch
from support.send_app import message as _message

WEBHOOK = {"Authorization": "Basic " + base64.b64encode(b"mj:hook-secret").decode()}
SEND = "/v3.1/send"


@pytest.fixture
def mailjet() -> Iterator[FakeMailjet]:
    with FakeMailjet(api_key="mj-pub", secret_key="mj-sec") as fake:
        yield fake


def _settings(tmp_path: Path, mailjet: FakeMailjet, secret_key: str = "mj-sec") -> Settings:
    return Settings(
        data_dir=tmp_path,
        send_api_keys=SEND_KEY,
        send_provider="mailjet",
        mailjet_api_key="mj-pub",
        mailjet_secret_key=secret_key,
        mailjet_api_url=mailjet.url,
        mailjet_send_rate=1000.0,
        mailjet_basic_auth="mj:hook-secret",
        send_timeout_seconds=1.0,
        send_lookup_grace_seconds=0.01,
        intake="database",
    )  # type: ignore[call-arg]


@pytest.fixture
def settings(tmp_path: Path, mailjet: FakeMailjet) -> Settings:
    return _settings(tmp_path, mailjet)


def test_a_message_sent_through_mailjet_is_joined_by_mailjets_sent_event(
    app: Flask, settings: Settings, mailjet: FakeMailjet
) -> None:
    [public_id] = _accept(app, {"email": "ann@example.com", "metadata": {"qj_contact_id": 7}})
    services = app.extensions["emailhook"]
    _dispatch(settings, app, [public_id])
    sent = _message(app, public_id)
    assert (sent["status"], sent["provider"]) == ("sent", "mailjet")
    [row] = list(mailjet.ledger)
    assert (row.echo["emailhook_id"], row.echo["CustomID"]) == (public_id, public_id)
    assert row.echo["qj_contact_id"] == 7
    assert int(row.provider_id) > 2**53  # kept exact on its way through
    assert sent["provider_message_id"] == row.provider_id
    # Mailjet's "sent" event (sent_event.json's shape), echoing CustomID and the EventPayload
    event = {
        "event": "sent",
        "time": int(time.time()),
        "MessageID": int(row.provider_id),
        "email": "ann@example.com",
        "mj_campaign_id": 0,
        "mj_contact_id": 9876543210,
        "customcampaign": "",
        "mj_message_id": row.provider_id,
        "smtp_reply": "sent (250 2.0.0 OK 1498093527 a67bc12345def.22 - gsmtp)",
        "CustomID": row.raw["CustomID"],
        "Payload": row.raw["EventPayload"],
    }
    answer = app.test_client().post(
        "/webhooks/mailjet", data=json.dumps([event]), headers=WEBHOOK,
        content_type="application/json",
    )  # fmt: skip
    assert answer.status_code == 200, answer.get_data()
    Processor(services.database.sessions, retry(), soft_bounces=soft_bounces()).process(
        [int(answer.get_json()["id"])]
    )
    joined = _message(app, public_id)
    assert [(e["provider"], e["event_type"]) for e in joined["events"]] == [
        ("mailjet", "delivered")
    ]
    assert joined["outcome"]["delivered"] is not None


def test_a_thousand_recipients_go_in_calls_of_fifty_each_with_our_id(
    app: Flask, settings: Settings, mailjet: FakeMailjet
) -> None:
    ids = _accept(app, *(f"r{n}@example.com" for n in range(1000)))
    _dispatch(settings, app, ids)
    assert [len(body["Messages"]) for body in mailjet.bodies(SEND)] == [50] * 20
    mailjet.ledger.assert_once("emailhook_id", ids)
    assert {_message(app, i)["status"] for i in ids[::97]} == {"sent"}


def test_an_invalid_message_fails_with_mailjets_words_and_the_rest_is_sent(
    app: Flask, settings: Settings, mailjet: FakeMailjet
) -> None:
    # an address we accept that Mailjet does not: its answer is a 400 with one result each
    ann, bad = _accept(app, "ann@example.com", "bad@example.c")
    _dispatch(settings, app, [ann, bad])
    assert len(mailjet.requests) == 1
    sent = _message(app, ann)
    assert sent["status"] == "sent"
    assert sent["attempts"][0]["http_status"] == 400
    failed = _message(app, bad)
    assert failed["status"] == "failed"
    assert failed["reason"].startswith("mj-0013: ")
    assert "bad@example.c" in failed["reason"]
    assert mailjet.ledger.recipients() == ["ann@example.com"]


def test_a_429_is_retried_later_and_a_wrong_key_pair_fails(
    app: Flask, settings: Settings, mailjet: FakeMailjet, tmp_path: Path
) -> None:
    mailjet.throttle()
    [throttled] = _accept(app, "ann@example.com")
    _dispatch(settings, app, [throttled])
    queued = _message(app, throttled)
    assert queued["status"] == "queued"
    assert queued["attempts"][0]["outcome"] == "retry"
    assert queued["reason"] == "HTTP 429: Rate limit exceeded"
    assert list(mailjet.ledger) == []
    wrong = _settings(tmp_path, mailjet, secret_key="not-it")
    [refused] = _accept(app, "bob@example.com")
    _dispatch(wrong, app, [refused])
    failed = _message(app, refused)
    assert failed["status"] == "failed"
    assert "API key authentication/authorization failure" in failed["reason"]


@pytest.mark.parametrize("fault", ["5xx", "late answer"])
def test_an_ambiguous_failure_is_never_sent_again(
    app: Flask, settings: Settings, mailjet: FakeMailjet, fault: str
) -> None:
    if fault == "5xx":
        mailjet.fail(500)
    else:
        mailjet.answer_late(3)
    [public_id] = _accept(app, "ann@example.com")
    _dispatch(settings, app, [public_id])
    assert _message(app, public_id)["status"] == "sending"  # Mailjet may have it
    time.sleep(0.05)
    _dispatch(settings, app, [public_id])
    dead = _message(app, public_id)
    assert dead["status"] == "dead"
    assert "cannot be asked" in dead["reason"]
    assert len(mailjet.bodies(SEND)) == 1
    assert len(list(mailjet.ledger)) == (0 if fault == "5xx" else 1)
