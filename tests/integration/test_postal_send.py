"""Sending through Postal end to end in one process: the send API and the dispatcher from
the settings (``EMAILHOOK_POSTAL_API_KEY``, ``_API_URL``: required, Postal is self-hosted)
against the fake Postal, then Postal's own webhook, signed with the server's RSA key and
posted through its path, joins the message. Postal's events echo no header and no metadata:
the join is by the id Postal answered for the recipient (``payload.message.id``)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from flask import Flask

from emailhook.composition.send import send_providers
from emailhook.service.receive.processing import Processor
from emailhook.settings import Settings
from support.fake_senders import FakePostal
from support.policies import retry, soft_bounces
from support.send_app import AUTH, SEND_KEY
from support.send_app import accept as _accept
from support.send_app import dispatch as _dispatch
from support.send_app import message as _message
from support.signing import RsaSigner

SEND = "/api/v1/send/message"


@pytest.fixture
def postal() -> Iterator[FakePostal]:
    with FakePostal(api_key="postal-test-key") as fake:
        yield fake


@pytest.fixture(scope="module")
def signer() -> RsaSigner:
    return RsaSigner.new()


@pytest.fixture
def settings(tmp_path: Path, postal: FakePostal, signer: RsaSigner) -> Settings:
    return Settings(
        data_dir=tmp_path,
        send_api_keys=SEND_KEY,
        send_provider="postal",
        postal_api_key="postal-test-key",
        postal_api_url=postal.url,
        postal_send_rate=1000.0,
        postal_public_keys=signer.public_der_base64(),
        send_timeout_seconds=1.0,
        send_lookup_grace_seconds=0.01,
        intake="database",
    )  # type: ignore[call-arg]


def _post_event(app: Flask, signer: RsaSigner, event: dict[str, Any]) -> None:
    body = json.dumps(event).encode()
    answer = app.test_client().post(
        "/webhooks/postal",
        data=body,
        headers={"x-postal-signature-256": signer.sign(body, hashes.SHA256())},
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.get_data()
    services = app.extensions["emailhook"]
    Processor(services.database.sessions, retry(), soft_bounces=soft_bounces()).process(
        [int(answer.get_json()["id"])]
    )


def _event(postal: FakePostal, event: str, status: str, details: str) -> dict[str, Any]:
    [row] = list(postal.ledger)
    now = time.time()
    return {
        "event": event,
        "timestamp": now,
        "payload": {
            "message": {
                "id": int(row.provider_id),
                "token": "zw6psSlgo6ki",
                "direction": "outgoing",
                "message_id": "c462ad36-be49-469c-b7b2-dfd317eb40fa@rp.postal.example.com",
                "to": row.recipient,
                "from": "shop@example.com",
                "subject": "Hi",
                "timestamp": now - 2,
                "spam_status": "NotChecked",
                "tag": None,
            },
            "status": status,
            "details": details,
            "output": "250 2.0.0 OK\n",
            "sent_with_ssl": True,
            "timestamp": now - 1,
            "time": 0.89,
        },
        "uuid": f"58e8d7ee-2cd5-4db2-9af3-{row.provider_id:0>12}",
    }


def test_a_message_sent_through_postal_is_joined_by_its_signed_sent_event(
    app: Flask, settings: Settings, postal: FakePostal, signer: RsaSigner
) -> None:
    [public_id] = _accept(app, "ann@example.com", tags=["welcome"])
    _dispatch(settings, app, [public_id])
    sent = _message(app, public_id)
    assert (sent["status"], sent["provider"]) == ("sent", "postal")
    [row] = list(postal.ledger)
    assert row.echo["X-Emailhook-Id"] == public_id  # in the e-mail; Postal's events omit it
    assert row.echo["tag"] == "welcome"
    assert sent["provider_message_id"] == row.provider_id
    [request] = postal.requests
    assert request.header("X-Server-API-Key") == "postal-test-key"
    _post_event(app, signer, _event(postal, "MessageSent", "Sent", "Message accepted"))
    joined = _message(app, public_id)
    assert [(e["provider"], e["event_type"]) for e in joined["events"]] == [("postal", "delivered")]


def test_a_suppressed_recipient_is_accepted_then_rejected_by_postals_held_event(
    app: Flask, settings: Settings, postal: FakePostal, signer: RsaSigner
) -> None:
    # Postal refuses no recipient in its answer: it holds the message and says so later
    postal.suppress("ann@example.com", "hard fail")
    [public_id] = _accept(app, "ann@example.com")
    _dispatch(settings, app, [public_id])
    assert _message(app, public_id)["status"] == "sent"
    details = "Recipient (ann@example.com) is on the suppression list"
    _post_event(app, signer, _event(postal, "MessageHeld", "Held", details))
    [event] = _message(app, public_id)["events"]
    assert (event["event_type"], event["reject_reason"]) == ("rejected", "bounced")


def test_a_thousand_recipients_go_one_call_each(
    app: Flask, settings: Settings, postal: FakePostal
) -> None:
    ids = _accept(app, *(f"r{n}@example.com" for n in range(1000)))
    _dispatch(settings, app, ids)
    bodies = postal.bodies(SEND)
    assert len(bodies) == 1000
    assert {len(b["to"]) for b in bodies} == {1}
    postal.ledger.assert_once("X-Emailhook-Id", ids)
    assert {_message(app, i)["status"] for i in ids[:3]} == {"sent"}


def test_what_postal_cannot_carry_is_refused_at_accept_naming_the_field(app: Flask) -> None:
    body = {
        "from": "shop@example.com",
        "subject": "Hi",
        "text": "Hello",
        "to": [{"email": "ann@example.com"}],
        "metadata": {"qj_contact_id": 7},
        "track_clicks": True,
    }
    answer = app.test_client().post("/messages", json=body, headers=AUTH)
    assert answer.status_code == 400
    assert {"metadata", "track_clicks"} <= set(json.dumps(answer.get_json()).split('"'))
    two_tags = {k: v for k, v in body.items() if k not in ("metadata", "track_clicks")}
    answer = app.test_client().post("/messages", json=two_tags | {"tags": ["a", "b"]}, headers=AUTH)
    assert answer.status_code == 400
    assert "one tag" in json.dumps(answer.get_json())


def test_a_429_from_a_proxy_in_front_retries_later(
    app: Flask, settings: Settings, postal: FakePostal
) -> None:
    postal.throttle()
    [public_id] = _accept(app, "ann@example.com")
    _dispatch(settings, app, [public_id])
    queued = _message(app, public_id)
    assert queued["status"] == "queued"
    assert queued["attempts"][0]["outcome"] == "retry"
    assert len(list(postal.ledger)) == 0


def test_a_refused_request_fails_with_postals_words(
    app: Flask, settings: Settings, postal: FakePostal
) -> None:
    postal.domains = {"other.example"}
    [public_id] = _accept(app, "ann@example.com")
    _dispatch(settings, app, [public_id])
    failed = _message(app, public_id)
    assert failed["status"] == "failed"
    assert failed["reason"] == (
        "error UnauthenticatedFromAddress:"
        " The From address is not authorised to send mail from this server"
    )


@pytest.mark.parametrize("fault", ["5xx", "late answer"])
def test_an_ambiguous_failure_is_never_sent_again(
    app: Flask, settings: Settings, postal: FakePostal, fault: str
) -> None:
    if fault == "5xx":
        postal.fail(500)
    else:
        postal.answer_late(3)
    [public_id] = _accept(app, "ann@example.com")
    _dispatch(settings, app, [public_id])
    assert _message(app, public_id)["status"] == "sending"  # Postal may have it
    time.sleep(0.05)
    _dispatch(settings, app, [public_id])
    dead = _message(app, public_id)
    assert dead["status"] == "dead"
    assert "cannot be asked" in dead["reason"]
    assert len(postal.bodies(SEND)) == 1
    assert len(list(postal.ledger)) == (0 if fault == "5xx" else 1)


def test_a_key_without_the_url_is_refused_at_start(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, postal_api_key="postal-test-key", intake="database")  # type: ignore[call-arg]
    assert settings.provider_values("postal")["api_url"] is None  # no public default
    with pytest.raises(ValueError, match="EMAILHOOK_POSTAL_API_URL is required"):
        send_providers(settings)
