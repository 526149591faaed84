"""Sending through Amazon SES end to end in one process: the send API and the dispatcher from
the settings (``EMAILHOOK_AMAZON_SES_ACCESS_KEY_ID``, ``_SECRET_ACCESS_KEY``, ``_REGION``,
``_API_URL``) against the fake SES, which checks every SigV4 signature with botocore; then
SES's own event, wrapped and signed by SNS and posted through its path, joins the message (by
our id in ``mail.tags``)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from emailhook.service.receive.processing import Processor
from emailhook.settings import Settings
from support.fake_senders import FakeAmazonSES
from support.policies import retry, soft_bounces
from support.provider_posts import Senders
from support.send_app import AUTH, SEND_KEY
from support.send_app import accept as _accept
from support.send_app import dispatch as _dispatch
from support.send_app import message as _message
from support.signing import LocalServer, local_server

SEND = "/v2/email/outbound-emails"
BULK = "/v2/email/outbound-bulk-emails"
ACCESS_KEY = "AKIDEMAILHOOKTEST000"
SECRET_KEY = "ses-test-secret"
REGION = "eu-west-1"


@pytest.fixture
def ses() -> Iterator[FakeAmazonSES]:
    with FakeAmazonSES(access_key=ACCESS_KEY, secret_key=SECRET_KEY, region=REGION) as fake:
        yield fake


@pytest.fixture
def sns_server() -> Iterator[LocalServer]:
    with local_server() as server:
        yield server


@pytest.fixture
def senders(sns_server: LocalServer) -> Senders:
    made = Senders(sns_server.base_url)
    sns_server.routes.update(made.routes())
    return made


@pytest.fixture
def settings(tmp_path: Path, ses: FakeAmazonSES, senders: Senders) -> Settings:
    trust = senders.settings()
    return Settings(
        data_dir=tmp_path,
        send_api_keys=SEND_KEY,
        send_provider="amazon_ses",
        amazon_ses_access_key_id=ACCESS_KEY,
        amazon_ses_secret_access_key=SECRET_KEY,
        amazon_ses_region=REGION,
        amazon_ses_configuration_set="emailhook-events",
        amazon_ses_api_url=ses.url,
        amazon_ses_send_rate=1000.0,
        amazon_ses_topic_arns=trust["amazon_ses_topic_arns"],
        amazon_ses_cert_url_pattern=trust["amazon_ses_cert_url_pattern"],
        send_timeout_seconds=1.0,
        send_lookup_grace_seconds=0.01,
        intake="database",
    )  # type: ignore[call-arg]


def _templated(app: Flask, *to: Any) -> list[str]:
    body = {"from": "shop@example.com", "template_id": "dunning", "to": list(to)}
    answer = app.test_client().post("/messages", json=body, headers=AUTH)
    assert answer.status_code == 202, answer.get_json()
    return [m["id"] for m in answer.get_json()["messages"]]


def test_a_message_sent_through_ses_is_joined_by_its_sns_signed_delivery_event(
    app: Flask, settings: Settings, ses: FakeAmazonSES, senders: Senders
) -> None:
    to = {"email": "ann@example.com", "metadata": {"qj_contact_id": 7}}
    [public_id] = _accept(app, to)
    services = app.extensions["emailhook"]
    _dispatch(settings, app, [public_id])
    sent = _message(app, public_id)
    assert (sent["status"], sent["provider"]) == ("sent", "amazon_ses")
    [row] = list(ses.ledger)
    assert row.path == SEND
    assert row.echo["emailhook_id"] == public_id
    assert row.echo["qj_contact_id"] == 7  # X-Metadata, decoded by the fake
    assert row.raw["ConfigurationSetName"] == "emailhook-events"
    assert sent["provider_message_id"] == row.provider_id
    # SES event publishing: the message tags in mail.tags, each a list
    record = {
        "eventType": "Delivery",
        "mail": {
            "timestamp": "2026-12-06T12:00:00.000Z",
            "messageId": row.provider_id,
            "destination": ["ann@example.com"],
            "tags": {
                "ses:configuration-set": ["emailhook-events"],
                "emailhook_id": [public_id],
            },
        },
        "delivery": {
            "timestamp": "2026-12-06T12:00:01.000Z",
            "recipients": ["ann@example.com"],
            "smtpResponse": "250 ok",
        },
    }
    post = senders.post("amazon_ses", f"delivery-{public_id}", data=record)
    answer = app.test_client().post(post.path, data=post.body, headers=post.headers)
    assert answer.status_code == 200, answer.get_data()
    Processor(services.database.sessions, retry(), soft_bounces=soft_bounces()).process(
        [int(answer.get_json()["id"])]
    )
    joined = _message(app, public_id)
    assert [(e["provider"], e["event_type"]) for e in joined["events"]] == [
        ("amazon_ses", "delivered")
    ]
    assert joined["outcome"]["delivered"] is not None


def test_a_thousand_templated_recipients_go_in_bulk_calls_of_fifty(
    app: Flask, settings: Settings, ses: FakeAmazonSES
) -> None:
    ids = _templated(app, *(f"r{n}@example.com" for n in range(1000)))
    _dispatch(settings, app, ids)
    bodies = ses.bodies(BULK)
    assert [len(b["BulkEmailEntries"]) for b in bodies] == [50] * 20
    ses.ledger.assert_once("emailhook_id", ids)
    assert {_message(app, i)["status"] for i in (ids[0], ids[499], ids[-1])} == {"sent"}


def test_messages_without_a_template_go_one_send_email_each(
    app: Flask, settings: Settings, ses: FakeAmazonSES
) -> None:
    ids = _accept(app, *(f"r{n}@example.com" for n in range(5)))
    _dispatch(settings, app, ids)
    assert len(ses.bodies(SEND)) == 5
    ses.ledger.assert_once("emailhook_id", ids)


def test_a_suppressed_bulk_entry_is_rejected_with_ses_words(
    app: Flask, settings: Settings, ses: FakeAmazonSES
) -> None:
    ses.suppress("gone@example.com")
    ids = _templated(app, "ann@example.com", "gone@example.com")
    _dispatch(settings, app, ids)
    kept, gone = _message(app, ids[0]), _message(app, ids[1])
    assert kept["status"] == "sent"
    assert gone["status"] == "rejected"
    assert gone["attempts"][0]["outcome"] == "rejected"
    assert gone["reason"] == (
        "MESSAGE_REJECTED: Email address is on the account-level suppression list."
    )
    assert [e["event_type"] for e in gone["events"]] == ["rejected"]
    ses.ledger.assert_once("emailhook_id", [ids[0]])
    [again] = _templated(app, "gone@example.com")  # SES's list is ours now
    assert _message(app, again)["status"] == "suppressed"


def test_a_429_is_retried_a_refusal_fails_with_ses_words(
    app: Flask, settings: Settings, ses: FakeAmazonSES
) -> None:
    ses.throttle()
    [throttled] = _accept(app, "ann@example.com")
    _dispatch(settings, app, [throttled])
    queued = _message(app, throttled)
    assert queued["status"] == "queued"
    assert queued["reason"] == "HTTP 429 TooManyRequestsException: Maximum sending rate exceeded."
    ses.fail(400, body={"message": "Template dunning does not exist."})
    [refused] = _accept(app, "bob@example.com")
    _dispatch(settings, app, [refused])
    failed = _message(app, refused)
    assert failed["status"] == "failed"
    assert failed["reason"] == "HTTP 400 BadRequestException: Template dunning does not exist."
    assert list(ses.ledger) == []


def test_a_wrong_secret_key_fails_with_the_signature_error(
    app: Flask, settings: Settings, ses: FakeAmazonSES
) -> None:
    ses.secret_key = "rotated-away"
    [public_id] = _accept(app, "ann@example.com")
    _dispatch(settings, app, [public_id])
    failed = _message(app, public_id)
    assert failed["status"] == "failed"
    assert failed["reason"].startswith("HTTP 403 InvalidSignatureException: The request signature")


@pytest.mark.parametrize("fault", ["5xx", "late answer"])
def test_an_ambiguous_failure_is_never_sent_again(
    app: Flask, settings: Settings, ses: FakeAmazonSES, fault: str
) -> None:
    if fault == "5xx":
        ses.fail(500)
    else:
        ses.answer_late(3)
    [public_id] = _accept(app, "ann@example.com")
    _dispatch(settings, app, [public_id])
    assert _message(app, public_id)["status"] == "sending"  # SES may have it
    time.sleep(0.05)
    _dispatch(settings, app, [public_id])
    dead = _message(app, public_id)
    assert dead["status"] == "dead"
    assert "cannot be asked" in dead["reason"]
    assert len(ses.bodies(SEND)) == 1
    assert len(list(ses.ledger)) == (0 if fault == "5xx" else 1)


def test_what_ses_cannot_carry_is_refused_on_accept(app: Flask) -> None:
    body = {"from": "shop@example.com", "subject": "Hi", "text": "x", "to": ["a@example.com"]}
    tags = app.test_client().post("/messages", json=body | {"tags": ["june"]}, headers=AUTH)
    assert tags.status_code == 400
    assert "tags" in json.dumps(tags.get_json())
    templated = {"from": "shop@example.com", "template_id": "t", "subject": "Hi", "to": ["a@x.io"]}
    answer = app.test_client().post("/messages", json=templated, headers=AUTH)
    assert answer.status_code == 400
    assert "subject cannot go with template_id" in json.dumps(answer.get_json())
