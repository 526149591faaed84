"""Sending through Postmark end to end in one process: the send API and the dispatcher from
the settings (``EMAILHOOK_POSTMARK_SERVER_TOKEN``, ``_API_URL``) against the fake Postmark,
then Postmark's own Delivery webhook, posted through its path, joins the message."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from emailhook.service.receive.processing import Processor
from emailhook.settings import Settings
from support.fake_senders import FakePostmark
from support.policies import retry, soft_bounces
from support.send_app import SEND_KEY
from support.send_app import accept as _accept
from support.send_app import dispatch as _dispatch
from support.send_app import message as _message

BATCH = "/email/batch"

WEBHOOK = {"Authorization": "Basic " + base64.b64encode(b"pm:secret").decode()}


@pytest.fixture
def postmark() -> Iterator[FakePostmark]:
    with FakePostmark(server_token="pm-token") as fake:
        yield fake


@pytest.fixture
def settings(tmp_path: Path, postmark: FakePostmark) -> Settings:
    return Settings(
        data_dir=tmp_path,
        send_api_keys=SEND_KEY,
        send_provider="postmark",
        postmark_server_token="pm-token",
        postmark_api_url=postmark.url,
        postmark_basic_auth="pm:secret",
        postmark_send_rate=1000.0,
        intake="database",
    )  # type: ignore[call-arg]


def test_a_message_sent_through_postmark_is_joined_by_postmarks_delivery_webhook(
    app: Flask, settings: Settings, postmark: FakePostmark
) -> None:
    [public_id] = _accept(app, {"email": "ann@example.com", "metadata": {"qj_contact_id": 7}})
    services = app.extensions["emailhook"]
    _dispatch(settings, app, [public_id])
    sent = _message(app, public_id)
    assert (sent["status"], sent["provider"]) == ("sent", "postmark")
    [row] = list(postmark.ledger)
    assert row.echo["emailhook_id"] == public_id
    assert sent["provider_message_id"] == row.provider_id
    delivery = {
        "RecordType": "Delivery",
        "MessageID": row.provider_id,
        "Recipient": "ann@example.com",
        "Metadata": row.echo,
        "DeliveredAt": "2026-12-06T13:28:10Z",
        "Details": "Test delivery",
    }
    answer = app.test_client().post(
        "/webhooks/postmark", data=json.dumps(delivery), headers=WEBHOOK,
        content_type="application/json",
    )  # fmt: skip
    assert answer.status_code == 200, answer.get_data()
    Processor(services.database.sessions, retry(), soft_bounces=soft_bounces()).process(
        [int(answer.get_json()["id"])]
    )
    joined = _message(app, public_id)
    assert [(e["provider"], e["event_type"]) for e in joined["events"]] == [
        ("postmark", "delivered")
    ]
    assert joined["outcome"]["delivered"] is not None


def test_an_inactive_recipient_is_rejected_suppressed_here_too_and_the_rest_sent(
    app: Flask, settings: Settings, postmark: FakePostmark
) -> None:
    postmark.suppress("gone@example.com")
    ids = _accept(app, "ann@example.com", "gone@example.com")
    _dispatch(settings, app, ids)
    ann, gone = (_message(app, i) for i in ids)
    assert ann["status"] == "sent"
    assert gone["status"] == "rejected"
    assert gone["reason"].startswith("406")
    assert [(e["provider"], e["event_type"]) for e in gone["events"]] == [("postmark", "rejected")]
    assert postmark.ledger.recipients() == ["ann@example.com"]
    # Postmark's list is ours now: the next message to the address is never handed over
    [again] = _accept(app, "gone@example.com")
    assert _message(app, again)["status"] == "suppressed"


def test_a_thousand_recipients_go_in_two_batches_of_500_each_with_our_id(
    app: Flask, settings: Settings, postmark: FakePostmark
) -> None:
    to = [f"r{n}@example.com" for n in range(1000)]
    ids = _accept(app, *to)
    _dispatch(settings, app, ids)
    assert [len(body) for body in postmark.bodies(BATCH)] == [500, 500]
    assert len(postmark.requests) == 2
    assert sorted(postmark.ledger.recipients()) == sorted(to)
    postmark.ledger.assert_once("emailhook_id", ids)
    assert {_message(app, i)["status"] for i in ids[::97]} == {"sent"}
