"""Sending through Unisender Go end to end in one process: the send API and the dispatcher from
the settings (``EMAILHOOK_UNISENDER_GO_API_KEYS``, ``_API_URL``) against the fake Unisender Go,
then Unisender Go's own webhook, signed with its ``auth`` (MD5 with the API key) and posted
through its path, joins the message (by our id in the recipient's ``metadata``; its
``job_id`` is the provider's message id)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from emailhook.service.receive.processing import Processor
from emailhook.settings import Settings
from support.fake_senders import FakeUnisenderGo
from support.policies import retry, soft_bounces
from support.send_app import AUTH, SEND_KEY, accept
from support.send_app import dispatch as _dispatch
from support.send_app import message as _message
from support.signing import unisender_signed

KEY = "unisender-go-test-key"


@pytest.fixture
def unisender() -> Iterator[FakeUnisenderGo]:
    with FakeUnisenderGo(api_key=KEY) as fake:
        yield fake


@pytest.fixture
def settings(tmp_path: Path, unisender: FakeUnisenderGo) -> Settings:
    return Settings(
        data_dir=tmp_path,
        send_api_keys=SEND_KEY,
        send_provider="unisender_go",
        unisender_go_api_keys=KEY,
        unisender_go_api_url=unisender.base_url,
        unisender_go_send_rate=1000.0,
        send_timeout_seconds=1.0,
        send_lookup_grace_seconds=0.01,
        intake="database",
    )  # type: ignore[call-arg]


def _accept(app: Flask, *to: Any, **fields: Any) -> list[str]:
    return accept(app, *to, **{"from": "Shop <shop@example.com>", **fields})


def _bodies(unisender: FakeUnisenderGo) -> list[dict[str, Any]]:
    return [r.json()["message"] for r in unisender.requests if r.path.endswith("/send.json")]


def test_a_message_sent_through_unisender_go_is_joined_by_its_signed_delivered_event(
    app: Flask, settings: Settings, unisender: FakeUnisenderGo
) -> None:
    [public_id] = _accept(app, {"email": "ann@example.com", "metadata": {"qj_contact_id": 7}})
    services = app.extensions["emailhook"]
    _dispatch(settings, app, [public_id])
    sent = _message(app, public_id)
    assert (sent["status"], sent["provider"]) == ("sent", "unisender_go")
    [row] = list(unisender.ledger)
    assert row.echo == {"qj_contact_id": "7", "emailhook_id": public_id}
    assert sent["provider_message_id"] == row.provider_id
    event = {
        "events_by_user": [
            {
                "user_id": 111111,
                "project_id": "6123462",
                "events": [
                    {
                        "event_name": "transactional_email_status",
                        "event_data": {
                            "job_id": row.provider_id,
                            "metadata": row.echo,
                            "email": "ann@example.com",
                            "status": "delivered",
                            "event_time": "2026-12-06 21:14:24",
                        },
                    }
                ],
            }
        ]
    }
    answer = app.test_client().post(
        "/webhooks/unisender_go",
        data=unisender_signed(event, KEY),
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.get_data()
    Processor(services.database.sessions, retry(), soft_bounces=soft_bounces()).process(
        [int(answer.get_json()["id"])]
    )
    joined = _message(app, public_id)
    assert [(e["provider"], e["event_type"]) for e in joined["events"]] == [
        ("unisender_go", "delivered")
    ]
    assert joined["outcome"]["delivered"] is not None


@pytest.mark.parametrize(
    ("reason", "next_message"),
    [
        ("unsubscribed", "suppressed"),
        ("permanent_unavailable", "suppressed"),
        ("temporary_unavailable", "queued"),  # Unisender Go's own timed block: not for good
    ],
)
def test_a_failed_email_is_rejected_with_its_reason_and_only_lasting_ones_suppress(
    app: Flask, settings: Settings, unisender: FakeUnisenderGo, reason: str, next_message: str
) -> None:
    unisender.suppress("gone@example.com", reason)
    ann, gone = _accept(app, "ann@example.com", "gone@example.com")
    _dispatch(settings, app, [ann, gone])
    assert len(_bodies(unisender)) == 1  # one call for both
    assert _message(app, ann)["status"] == "sent"
    refused = _message(app, gone)
    assert refused["status"] == "rejected"
    assert refused["reason"] == f"failed_emails: {reason}"
    assert refused["attempts"][0]["outcome"] == "rejected"
    assert unisender.ledger.recipients() == ["ann@example.com"]
    [again] = _accept(app, "gone@example.com")
    assert _message(app, again)["status"] == next_message


def test_more_metadata_than_unisender_go_keeps_is_refused_at_accept(app: Flask) -> None:
    body = {
        "from": "shop@example.com",
        "subject": "Hi",
        "text": "Hello",
        "to": ["ann@example.com"],
        "metadata": {f"k{n}": "v" for n in range(10)},
    }
    answer = app.test_client().post("/messages", json=body, headers=AUTH)
    assert answer.status_code == 400
    assert "at most 9 of yours" in answer.get_json()["errors"]["to[0]"][0]


def test_a_thousand_recipients_go_in_calls_of_500_each_with_our_id(
    app: Flask, settings: Settings, unisender: FakeUnisenderGo
) -> None:
    ids = _accept(app, *(f"r{n}@example.com" for n in range(1000)))
    _dispatch(settings, app, ids)
    assert [len(b["recipients"]) for b in _bodies(unisender)] == [500, 500]
    unisender.ledger.assert_once("emailhook_id", ids)
    assert {_message(app, i)["status"] for i in ids[:3] + ids[-3:]} == {"sent"}


def test_a_429_is_retried_later(app: Flask, settings: Settings, unisender: FakeUnisenderGo) -> None:
    unisender.throttle(retry_after=30)
    [public_id] = _accept(app, "ann@example.com")
    _dispatch(settings, app, [public_id])
    queued = _message(app, public_id)
    assert queued["status"] == "queued"
    assert queued["attempts"][0]["outcome"] == "retry"
    assert queued["reason"].startswith("HTTP 429")
    assert len(list(unisender.ledger)) == 0


def test_a_refused_request_fails_with_unisender_gos_words(
    app: Flask, settings: Settings, unisender: FakeUnisenderGo
) -> None:
    unisender.fail(400, body={"status": "error", "message": "from_email is invalid", "code": 205})
    [public_id] = _accept(app, "ann@example.com")
    _dispatch(settings, app, [public_id])
    failed = _message(app, public_id)
    assert failed["status"] == "failed"
    assert failed["reason"] == "HTTP 400: 205: from_email is invalid"


@pytest.mark.parametrize("fault", ["5xx", "late answer"])
def test_an_ambiguous_failure_is_never_sent_again(
    app: Flask, settings: Settings, unisender: FakeUnisenderGo, fault: str
) -> None:
    if fault == "5xx":
        unisender.fail(500)
    else:
        unisender.answer_late(3)
    [public_id] = _accept(app, "ann@example.com")
    _dispatch(settings, app, [public_id])
    assert _message(app, public_id)["status"] == "sending"  # Unisender Go may have it
    time.sleep(0.05)
    _dispatch(settings, app, [public_id])
    dead = _message(app, public_id)
    assert dead["status"] == "dead"
    assert "cannot be asked" in dead["reason"]
    assert len(_bodies(unisender)) == 1
    assert len(list(unisender.ledger)) == (0 if fault == "5xx" else 1)
