"""Sending through Mandrill end to end in one process: the send API and the dispatcher from the
settings (``EMAILHOOK_MANDRILL_API_KEY``, ``_API_URL``) against the fake Mandrill, then
Mandrill's own ``send`` webhook event, signed (HMAC-SHA1 over its URL and form fields) and
posted through its path, joins the message (by our id in ``msg.metadata``, Mandrill's merge of
the ``recipient_metadata`` we sent)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from emailhook.service.receive.processing import Processor
from emailhook.settings import Settings
from support.fake_senders import FakeMandrill
from support.policies import retry, soft_bounces
from support.provider_posts import MANDRILL_URL, Senders
from support.send_app import SEND_KEY
from support.send_app import accept as _accept
from support.send_app import dispatch as _dispatch
from support.send_app import message as _message

SEND = "/api/1.0/messages/send.json"


@pytest.fixture
def mandrill() -> Iterator[FakeMandrill]:
    with FakeMandrill(api_key="md-key") as fake:
        yield fake


@pytest.fixture
def senders() -> Senders:
    return Senders("http://127.0.0.1:9")  # no SNS here: only Mandrill's webhook key is used


def _settings(
    tmp_path: Path, mandrill: FakeMandrill, senders: Senders, api_key: str = "md-key"
) -> Settings:
    return Settings(
        data_dir=tmp_path,
        send_api_keys=SEND_KEY,
        send_provider="mandrill",
        mandrill_api_key=api_key,
        mandrill_api_url=mandrill.base_url,
        mandrill_send_rate=1000.0,
        mandrill_webhook_keys=senders.mandrill_key,
        mandrill_webhook_url=MANDRILL_URL,
        send_timeout_seconds=1.0,
        send_lookup_grace_seconds=0.01,
        intake="database",
    )  # type: ignore[call-arg]


@pytest.fixture
def settings(tmp_path: Path, mandrill: FakeMandrill, senders: Senders) -> Settings:
    return _settings(tmp_path, mandrill, senders)


def test_a_message_sent_through_mandrill_is_joined_by_its_signed_send_event(
    app: Flask, settings: Settings, mandrill: FakeMandrill, senders: Senders
) -> None:
    [public_id] = _accept(
        app, {"email": "ann@example.com", "metadata": {"qj_contact_id": 7}}, tags=["june"]
    )
    services = app.extensions["emailhook"]
    _dispatch(settings, app, [public_id])
    sent = _message(app, public_id)
    assert (sent["status"], sent["provider"]) == ("sent", "mandrill")
    [row] = list(mandrill.ledger)
    assert (row.echo["emailhook_id"], row.echo["qj_contact_id"]) == (public_id, "7")
    assert sent["provider_message_id"] == row.provider_id
    metadata = {k: v for k, v in row.echo.items() if k != "tags"}
    now = int(time.time())
    # Mandrill's "send" event (send_event.json's shape): metadata and recipient_metadata merged
    event = {
        "event": "send",
        "msg": {
            "ts": now,
            "subject": "Hi",
            "email": "ann@example.com",
            "sender": "shop@example.com",
            "tags": row.echo["tags"],
            "metadata": metadata,
            "_id": row.provider_id,
        },
        "_id": row.provider_id,
        "ts": now,
    }
    post = senders.post("mandrill", "send_event", data=[event])
    answer = app.test_client().post("/webhooks/mandrill", data=post.body, headers=post.headers)
    assert answer.status_code == 200, answer.get_data()
    Processor(services.database.sessions, retry(), soft_bounces=soft_bounces()).process(
        [int(answer.get_json()["id"])]
    )
    joined = _message(app, public_id)
    assert [(e["provider"], e["event_type"]) for e in joined["events"]] == [("mandrill", "sent")]


def test_a_thousand_recipients_go_in_calls_of_ten_each_with_our_id(
    app: Flask, settings: Settings, mandrill: FakeMandrill
) -> None:
    ids = _accept(app, *(f"r{n}@example.com" for n in range(1000)))
    _dispatch(settings, app, ids)
    bodies = mandrill.bodies(SEND)
    assert [len(body["message"]["to"]) for body in bodies] == [10] * 100
    assert {body["async"] for body in bodies} == {False}
    mandrill.ledger.assert_once("emailhook_id", ids)
    assert {_message(app, i)["status"] for i in ids[::97]} == {"sent"}


def test_a_rejected_or_invalid_recipient_is_refused_with_its_reason_the_rest_sent(
    app: Flask, settings: Settings, mandrill: FakeMandrill
) -> None:
    mandrill.suppress("gone@example.com", "hard-bounce")
    # an address we accept that Mandrill does not: "invalid"
    ann, gone, bad = _accept(app, "ann@example.com", "gone@example.com", "bad@example.c")
    _dispatch(settings, app, [ann, gone, bad])
    assert len(mandrill.requests) == 1
    assert _message(app, ann)["status"] == "sent"
    refused = [_message(app, gone), _message(app, bad)]
    assert [(m["status"], m["reason"]) for m in refused] == [
        ("rejected", "rejected: hard-bounce"),
        ("rejected", "invalid"),
    ]
    assert [m["attempts"][0]["outcome"] for m in refused] == ["rejected", "rejected"]
    assert mandrill.ledger.recipients() == ["ann@example.com"]
    # Mandrill's rejection list is ours now; an address it calls invalid suppresses nothing
    again = _accept(app, "gone@example.com", "bad@example.c")
    assert [_message(app, i)["status"] for i in again] == ["suppressed", "queued"]


def test_a_429_is_retried_later_and_a_wrong_key_fails_though_mandrill_says_500(
    app: Flask,
    settings: Settings,
    mandrill: FakeMandrill,
    senders: Senders,
    tmp_path: Path,
) -> None:
    mandrill.throttle()
    [throttled] = _accept(app, "ann@example.com")
    _dispatch(settings, app, [throttled])
    queued = _message(app, throttled)
    assert queued["status"] == "queued"
    assert queued["attempts"][0]["outcome"] == "retry"
    assert list(mandrill.ledger) == []
    wrong = _settings(tmp_path, mandrill, senders, api_key="not-it")
    [refused] = _accept(app, "bob@example.com")
    _dispatch(wrong, app, [refused])
    failed = _message(app, refused)
    assert failed["status"] == "failed"
    assert failed["reason"] == "HTTP 500 Invalid_Key: Invalid API key"


@pytest.mark.parametrize("fault", ["5xx", "late answer"])
def test_an_ambiguous_failure_is_never_sent_again(
    app: Flask, settings: Settings, mandrill: FakeMandrill, fault: str
) -> None:
    if fault == "5xx":
        mandrill.fail(500)  # Mandrill's GeneralError
    else:
        mandrill.answer_late(3)
    [public_id] = _accept(app, "ann@example.com")
    _dispatch(settings, app, [public_id])
    assert _message(app, public_id)["status"] == "sending"  # Mandrill may have it
    time.sleep(0.05)
    _dispatch(settings, app, [public_id])
    dead = _message(app, public_id)
    assert dead["status"] == "dead"
    assert "cannot be asked" in dead["reason"]
    assert len(mandrill.bodies(SEND)) == 1
    assert len(list(mandrill.ledger)) == (0 if fault == "5xx" else 1)
