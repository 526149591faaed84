"""Sending through SparkPost end to end in one process: the send API and the dispatcher from
the settings (``EMAILHOOK_SPARKPOST_API_KEY``, ``_API_URL``) against the fake SparkPost, then
SparkPost's own event webhook (HTTP Basic, as its webhook tests post it) joins the message by
our id in ``rcpt_meta``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from emailhook.service.receive.processing import Processor
from emailhook.settings import Settings
from support.fake_senders import FakeSparkPost
from support.policies import retry, soft_bounces
from support.provider_posts import Senders
from support.send_app import SEND_KEY
from support.send_app import accept as _accept
from support.send_app import dispatch as _dispatch
from support.send_app import message as _message

TRANSMISSIONS = "/api/v1/transmissions"


@pytest.fixture
def sparkpost() -> Iterator[FakeSparkPost]:
    with FakeSparkPost(api_key="sp-test-key") as fake:
        yield fake


@pytest.fixture
def senders() -> Senders:
    return Senders("http://127.0.0.1:9")  # no SNS here: only SparkPost's Basic pair is used


@pytest.fixture
def settings(tmp_path: Path, sparkpost: FakeSparkPost, senders: Senders) -> Settings:
    return Settings(
        data_dir=tmp_path,
        send_api_keys=SEND_KEY,
        send_provider="sparkpost",
        sparkpost_api_key="sp-test-key",
        sparkpost_api_url=sparkpost.base_url,
        sparkpost_send_rate=1000.0,
        sparkpost_basic_auth=senders.settings()["sparkpost_basic_auth"],
        send_timeout_seconds=1.0,
        send_lookup_grace_seconds=0.01,
        intake="database",
    )  # type: ignore[call-arg]


def _post_event(app: Flask, senders: Senders, event: dict[str, Any]) -> None:
    post = senders.post("sparkpost", "event", data=[{"msys": {"message_event": event}}])
    answer = app.test_client().post(post.path, data=post.body, headers=post.headers)
    assert answer.status_code == 200, answer.get_data()
    services = app.extensions["emailhook"]
    Processor(services.database.sessions, retry(), soft_bounces=soft_bounces()).process(
        [int(answer.get_json()["id"])]
    )


def test_a_message_sent_through_sparkpost_is_joined_by_its_delivery_event(
    app: Flask, settings: Settings, sparkpost: FakeSparkPost, senders: Senders
) -> None:
    [public_id] = _accept(app, {"email": "ann@example.com", "metadata": {"qj_contact_id": 7}})
    _dispatch(settings, app, [public_id])
    sent = _message(app, public_id)
    assert (sent["status"], sent["provider"]) == ("sent", "sparkpost")
    [row] = list(sparkpost.ledger)
    assert row.echo == {"qj_contact_id": 7, "emailhook_id": public_id}
    assert sent["provider_message_id"] == row.provider_id
    _post_event(
        app,
        senders,
        {
            "type": "delivery",
            "event_id": "92356927693813856",
            "rcpt_to": "ann@example.com",
            "raw_rcpt_to": "ann@example.com",
            "rcpt_meta": row.echo,  # SparkPost echoes the recipient's metadata
            "timestamp": str(int(time.time())),
            "transmission_id": row.provider_id,
        },
    )
    joined = _message(app, public_id)
    assert [(e["provider"], e["event_type"]) for e in joined["events"]] == [
        ("sparkpost", "delivered")
    ]
    assert joined["outcome"]["delivered"] is not None


def test_a_thousand_recipients_go_in_one_transmission_each_with_our_id(
    app: Flask, settings: Settings, sparkpost: FakeSparkPost
) -> None:
    ids = _accept(app, *(f"r{n}@example.com" for n in range(1000)))
    _dispatch(settings, app, ids)
    [body] = sparkpost.bodies(TRANSMISSIONS)
    assert len(body["recipients"]) == 1000
    sparkpost.ledger.assert_once("emailhook_id", ids)
    assert {_message(app, i)["status"] for i in (ids[0], ids[-1])} == {"sent"}


def test_a_refused_recipient_alone_is_rejected(
    app: Flask, settings: Settings, sparkpost: FakeSparkPost
) -> None:
    sparkpost.suppress("gone@example.com")
    [public_id] = _accept(app, "gone@example.com")
    _dispatch(settings, app, [public_id])
    gone = _message(app, public_id)
    assert gone["status"] == "rejected"
    assert gone["attempts"][0]["outcome"] == "rejected"
    assert gone["reason"].startswith("SparkPost refused the recipient")
    # SparkPost does not say why: kept as a rejection that suppresses nothing
    [again] = _accept(app, "gone@example.com")
    assert _message(app, again)["status"] == "queued"


def test_a_recipient_refused_among_others_is_named_by_its_policy_rejection_event(
    app: Flask, settings: Settings, sparkpost: FakeSparkPost, senders: Senders
) -> None:
    sparkpost.suppress("gone@example.com")
    ids = _accept(app, "ann@example.com", "gone@example.com")
    _dispatch(settings, app, ids)
    # the answer only counts the refusal: SparkPost took the transmission
    assert {_message(app, i)["status"] for i in ids} == {"sent"}
    sparkpost.ledger.assert_once("emailhook_id", [ids[0]])
    transmission = _message(app, ids[1])["provider_message_id"]
    _post_event(
        app,
        senders,
        {
            "type": "policy_rejection",
            "event_id": "4130000000000000001",
            "rcpt_to": "gone@example.com",
            "rcpt_meta": {"emailhook_id": ids[1]},
            "reason": "554 5.7.1 recipient address suppressed due to customer policy",
            "timestamp": str(int(time.time())),
            "transmission_id": transmission,
        },
    )
    refused = _message(app, ids[1])
    assert [(e["provider"], e["event_type"]) for e in refused["events"]] == [
        ("sparkpost", "rejected")
    ]


def test_a_quota_or_429_is_retried_a_refusal_fails_a_5xx_is_never_resent(
    app: Flask, settings: Settings, sparkpost: FakeSparkPost
) -> None:
    sparkpost.fail(420, body={"errors": [{"message": "Sending limits exceeded", "code": "2102"}]})
    [limited] = _accept(app, "ann@example.com")
    _dispatch(settings, app, [limited])
    queued = _message(app, limited)
    assert queued["status"] == "queued"
    assert queued["reason"] == "HTTP 420: 2102: Sending limits exceeded"
    sparkpost.throttle()
    [throttled] = _accept(app, "bob@example.com")
    _dispatch(settings, app, [throttled])
    assert _message(app, throttled)["status"] == "queued"
    sparkpost.fail(
        422, body={"errors": [{"message": "Unconfigured Sending Domain", "code": "7001"}]}
    )
    [refused] = _accept(app, "cy@example.com")
    _dispatch(settings, app, [refused])
    failed = _message(app, refused)
    assert (failed["status"], failed["reason"]) == (
        "failed",
        "HTTP 422: 7001: Unconfigured Sending Domain",
    )
    assert list(sparkpost.ledger) == []


@pytest.mark.parametrize("fault", ["5xx", "late answer"])
def test_an_ambiguous_failure_is_never_sent_again(
    app: Flask, settings: Settings, sparkpost: FakeSparkPost, fault: str
) -> None:
    if fault == "5xx":
        sparkpost.fail(503)
    else:
        sparkpost.answer_late(3)
    [public_id] = _accept(app, "ann@example.com")
    _dispatch(settings, app, [public_id])
    assert _message(app, public_id)["status"] == "sending"  # SparkPost may have it
    time.sleep(0.05)
    _dispatch(settings, app, [public_id])
    dead = _message(app, public_id)
    assert dead["status"] == "dead"
    assert "cannot be asked" in dead["reason"]
    assert len(sparkpost.bodies(TRANSMISSIONS)) == 1
    assert len(list(sparkpost.ledger)) == (0 if fault == "5xx" else 1)
