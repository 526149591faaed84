"""The send pipeline end to end: a real web server and Celery worker (both queues), a fake
Infobip that speaks its v4 send and logs API, and the reports it would post coming back to
``POST /email`` and showing on the message and the contact."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.fake_senders import FakeInfobipSender
from support.http_calls import http_get, http_post
from support.infobip_bodies import report, reports
from support.services import backend_urls, on_backend
from support.stack import Stack, wait_until

SEND_KEY = "send-key-1"
AUTH = {"Authorization": f"Bearer {SEND_KEY}"}
TOKEN = "hook-token-1"


DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def infobip() -> Iterator[FakeInfobipSender]:
    with FakeInfobipSender(api_key="ib-key") as fake:
        yield fake


@pytest.fixture(scope="module", params=[on_backend("sqlite+folder"), on_backend("postgres+redis")])
def send_stack(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    infobip: FakeInfobipSender,
) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("send-" + request.param.replace("+", "-"))
    env = {
        "EMAILHOOK_SEND_API_KEYS": SEND_KEY,
        "EMAILHOOK_INFOBIP_BASE_URL": infobip.url,
        "EMAILHOOK_INFOBIP_API_KEY": "ib-key",
        "EMAILHOOK_PUBLIC_URL": "https://hooks.example.com",
        "EMAILHOOK_WEBHOOK_TOKENS": TOKEN,
        "EMAILHOOK_UNSUBSCRIBE_SECRETS": "unsub-secret-1",
        "EMAILHOOK_SEND_TIMEOUT_SECONDS": "2",
        "EMAILHOOK_SEND_LOOKUP_GRACE_SECONDS": "0.5",
    }
    with backend_urls(request.param, workdir) as (database_url, broker_url):
        stack = Stack(workdir, database_url, broker_url, extra_env=env).start()
        try:
            yield stack
        finally:
            stack.stop()


def _send(stack: Stack, body: dict[str, Any], **headers: str) -> httpx.Response:
    return http_post(
        f"{stack.base_url}/messages", json=body, headers={**AUTH, **headers}, timeout=10
    )


def _message(stack: Stack, public_id: str) -> dict[str, Any]:
    answer = http_get(f"{stack.base_url}/messages/{public_id}", headers=AUTH, timeout=10)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def _wait_status(stack: Stack, public_id: str, status: str, timeout: float = 30) -> None:
    wait_until(
        lambda: _message(stack, public_id)["status"] == status,
        timeout,
        f"message {public_id} {status} (is {_message(stack, public_id)['status']})",
        step=0.1,
    )


def test_the_seed_loop_sends_two_suppresses_one_and_joins_the_reports_back(
    send_stack: Stack, infobip: FakeInfobipSender
) -> None:
    stack = send_stack
    now = datetime.now(UTC)
    # gone@ bounced hard before: on the suppression list
    bounce = report(
        "gone@example.com", now, "UNDELIVERABLE", message_id="old-1", error_id=10, permanent=True
    )
    assert stack.post_to(f"/email/{TOKEN}", reports(bounce)).status_code == 200
    wait_until(
        lambda: (
            stack.scalar("SELECT count(*) FROM suppression WHERE email = 'gone@example.com'") == 1
        ),
        30,
        "gone@example.com suppressed",
    )
    before = len(infobip.ledger)
    answer = _send(
        stack,
        {
            "from": "Cobranca <cobranca@example.com>",
            "subject": "Ola {{name}}",
            "text": "Sua fatura, {{name}}",
            "metadata": {"qj_approach_flow_campaign": "camp-9", "qj_creditor_name": "Banco"},
            "to": [
                {
                    "email": "ana@example.com",
                    "merge_data": {"name": "Ana"},
                    "metadata": {"qj_contact_id": 101},
                },
                {
                    "email": "bia@example.com",
                    "merge_data": {"name": "Bia"},
                    "metadata": {"qj_contact_id": 102},
                },
                {"email": "gone@example.com", "metadata": {"qj_contact_id": 103}},
            ],
        },
    )
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["batch_id"].startswith("bat_")
    statuses = [(m["to"], m["status"], m.get("reason")) for m in body["messages"]]
    assert statuses == [
        ("ana@example.com", "queued", None),
        ("bia@example.com", "queued", None),
        ("gone@example.com", "suppressed", "hard_bounce"),
    ]
    ana, bia, gone = (m["id"] for m in body["messages"])
    _wait_status(stack, ana, "sent")
    _wait_status(stack, bia, "sent")
    # the fake got exactly the two, each with its contact id and our id in callbackData
    new = list(infobip.ledger)[before:]
    assert sorted(row.recipient for row in new) == ["ana@example.com", "bia@example.com"]
    echoes = {row.recipient: row.echo for row in new}
    assert echoes["ana@example.com"]["qj_contact_id"] == 101
    assert echoes["ana@example.com"]["emailhook_id"] == ana
    assert echoes["bia@example.com"]["qj_approach_flow_campaign"] == "camp-9"
    sent = infobip.bodies("/email/4/messages")[-1]["messages"]
    assert {m["webhooks"]["delivery"]["url"] for m in sent} == {
        f"https://hooks.example.com/email/{TOKEN}"
    }
    subjects = {m["destinations"][0]["to"][0]["destination"]: m["content"] for m in sent}
    assert subjects["ana@example.com"]["subject"] == "Ola Ana"
    assert "List-Unsubscribe" in json.loads(subjects["bia@example.com"]["headers"])
    assert _message(stack, gone)["status"] == "suppressed"
    # Infobip's delivery report for ana comes back through POST /email
    delivered = report("ana@example.com", now, "DELIVERED", message_id=ana, contact=None)
    delivered["callbackData"] = next(
        m["webhooks"]["callbackData"]
        for m in sent
        if m["destinations"][0]["to"][0]["destination"] == "ana@example.com"
    )
    assert stack.post_to(f"/email/{TOKEN}", reports(delivered)).status_code == 200
    wait_until(lambda: bool(_message(stack, ana)["events"]), 30, "ana's report joined")
    message = _message(stack, ana)
    assert message["provider"] == "infobip"
    assert message["provider_message_id"] == ana
    assert message["metadata"]["qj_contact_id"] == 101
    assert [e["event_type"] for e in message["events"]] == ["delivered"]
    assert message["outcome"]["delivered"] is not None
    assert [a["outcome"] for a in message["attempts"]] == ["accepted"]
    contact = http_get(f"{stack.base_url}/contacts/101", timeout=10).json()
    assert "ana@example.com" in json.dumps(contact)
    assert "DELIVERED" in json.dumps(contact).upper()
    metrics = http_get(f"{stack.base_url}/metrics", timeout=10).text
    assert 'emailhook_messages_accepted_total{status="suppressed"} 1.0' in metrics
    assert 'emailhook_messages_dispatched_total{outcome="sent"} 2.0' in metrics
    assert "emailhook_send_call_seconds_count" in metrics


def test_a_campaign_paused_by_infobips_platform_event_is_counted_by_the_worker(
    send_stack: Stack,
) -> None:
    stack = send_stack
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    message = {"from": "cobranca@example.com", "subject": "Oi", "text": "Oi", "send_at": tomorrow}
    lines = [message, {"email": "later@example.com"}]
    created = http_post(
        f"{stack.base_url}/campaigns",
        content=b"".join(json.dumps(line).encode() + b"\n" for line in lines),
        headers={**AUTH, "Content-Type": "application/x-ndjson"},
        timeout=30,
    )
    assert created.status_code == 202, created.text
    campaign = created.json()["id"]
    warning = DATA / "infobip/email_platform_event_webhook__high_bounce_rate_warning.json"
    assert stack.post_to(f"/email/{TOKEN}", warning.read_bytes()).status_code == 200

    def shown() -> dict[str, Any]:
        found: dict[str, Any] = http_get(
            f"{stack.base_url}/campaigns/{campaign}", headers=AUTH, timeout=10
        ).json()
        return found

    wait_until(lambda: shown()["state"] == "paused", 30, "the campaign paused by the event")
    assert "HIGH_BOUNCE_RATE_WARNING" in shown()["pause_reason"]
    metrics = http_get(f"{stack.base_url}/metrics", timeout=10).text
    assert 'emailhook_campaign_guard_verdicts_total{action="pause",scope="platform"} 1.0' in metrics
