"""The guards of a sending domain and a provider's platform events, through the real Flask
app, worker processing and database (SQLite and PostgreSQL): complaints posted back to
``POST /email`` past the domain's pause rate pause every running campaign from the domain
though each campaign alone is under its minimum, and past its warning rate the campaigns
show the warning; Infobip's HIGH_BOUNCE_RATE_WARNING posted to ``POST /email`` pauses the
running Infobip campaigns from the event's domain, and a redelivery of it after a resume
pauses nothing again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from emailhook.adapters.db.models import OutboxMessage
from emailhook.domain.sending.guards import GuardRule
from emailhook.entrypoints.cli.main import main
from emailhook.service.send.campaign_guard import CampaignGuard
from emailhook.service.send.relay import SendRelay, SendRelayPolicy
from emailhook.settings import Settings
from support.clock import Clock
from support.fake_senders import FakeInfobipSender
from support.infobip_bodies import report, reports
from support.send_app import app_on, cleared, dispatch
from support.sent_messages import process

KEY = "campaign-guard-key-1"
AUTH = {"Authorization": f"Bearer {KEY}"}
INFOBIP_KEY = "infobip-key-for-guard-tests"
JSONL = "application/x-ndjson"
MESSAGE = {"from": "Cobranca <cobranca@example.com>", "subject": "Ola", "text": "Sua fatura"}
#: Infobip's sample: HIGH_BOUNCE_RATE_WARNING for example.com, 4.6 % past its 3 %
WARNING_EVENT = (
    Path(__file__).resolve().parents[1]
    / "data/infobip/email_platform_event_webhook__high_bounce_rate_warning.json"
).read_bytes()
#: the domain guard's thresholds: each campaign below sends under 500 and the domain more
RULE = GuardRule(complaint_warn=0.001, complaint_pause=0.003, min_delivered=500)
TABLES = (
    "outbox",
    "message",
    "send_attempt",
    "campaign",
    "send_rate_bucket",
    "platform_event",
    "campaign_minute",
    "domain_minute",
)


@pytest.fixture(scope="module")
def infobip() -> Iterator[FakeInfobipSender]:
    with FakeInfobipSender(api_key=INFOBIP_KEY) as fake:
        yield fake


def _settings(data_dir: Path, database_url: str | None, infobip_url: str) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        send_api_keys=KEY,
        infobip_base_url=infobip_url,
        infobip_api_key=INFOBIP_KEY,
        infobip_send_rate=1000,
        smtp_url="smtp://127.0.0.1:9",  # a second provider; nothing here sends through it
    )


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def shared_app(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    infobip: FakeInfobipSender,
) -> Iterator[Flask]:
    tmp_path = tmp_path_factory.mktemp("guards")
    with app_on(request.param, lambda url: _settings(tmp_path, url, infobip.url)) as made:
        yield made


@pytest.fixture
def app(shared_app: Flask, infobip: FakeInfobipSender) -> Flask:
    infobip.ledger.clear()
    return cleared(shared_app, TABLES)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _campaign(client: FlaskClient, prefix: str, count: int, **message: Any) -> str:
    lines = [{**MESSAGE, **message}] + [{"email": f"{prefix}{n}@example.net"} for n in range(count)]
    body = b"".join(orjson.dumps(line) + b"\n" for line in lines)
    answer = client.post("/campaigns", data=body, content_type=JSONL, headers=AUTH)
    assert answer.status_code == 202, answer.get_json()
    return str(answer.get_json()["id"])


def _send(app: Flask, limit: int) -> list[str]:
    """Publish and send ``limit`` queued messages (the oldest campaigns' first); return the
    ids sent."""
    published: list[list[str]] = []
    relay = SendRelay(
        app.extensions["emailhook"].database.sessions,
        published.append,
        SendRelayPolicy(redelivery_seconds=60.0, claim_limit=limit),
        {"infobip": 100},
        clock=Clock(datetime.now(UTC)),
    )
    relay.run_once()
    ids = [i for task in published for i in task]
    for task in published:
        dispatch(app.extensions["emailhook"].settings, app, task)
    return ids


def _delivered_and_complained(app: Flask, sent: list[str], complaints: list[str]) -> None:
    """Infobip reports every sent message delivered; ``complaints`` complain (tracking)."""
    with app.extensions["emailhook"].database.sessions.begin() as session:
        to = dict(session.execute(select(OutboxMessage.public_id, OutboxMessage.email)).all())
    delivered = [report(to[m], datetime.now(UTC), "DELIVERED", message_id=m) for m in sent]
    complained = [
        orjson.dumps(
            {
                "notificationType": "COMPLAINED",
                "eventId": f"c-{m}",
                "messageId": m,
                "recipient": to[m],
                "sendDateTime": 1721152014966,
            }
        )
        for m in complaints
    ]
    process(app, [reports(*delivered), *complained])


def _of(app: Flask, campaign: str) -> list[str]:
    """Return the ids of the campaign's messages sent."""
    with app.extensions["emailhook"].database.sessions.begin() as session:
        stmt = select(OutboxMessage.public_id).where(
            OutboxMessage.campaign_id == campaign, OutboxMessage.state == "sent"
        )
        return sorted(session.execute(stmt).scalars())


def _guard(app: Flask) -> CampaignGuard:
    return CampaignGuard(app.extensions["emailhook"].database.sessions, RULE)


def _shown(client: FlaskClient, campaign: str) -> Any:
    return client.get(f"/campaigns/{campaign}", headers=AUTH).get_json()


def test_complaints_past_the_domains_pause_rate_pause_each_of_its_campaigns_under_its_minimum(
    app: Flask, client: FlaskClient, infobip: FakeInfobipSender
) -> None:
    elsewhere = _campaign(client, "c", 50, **{"from": "news@other.example"})
    first = _campaign(client, "a", 300)
    second = _campaign(client, "b", 300)
    sent = _send(app, 550)  # elsewhere's 50, first's 300, second's 200
    assert len(sent) == 550
    # 2 complaints in 500 delivered from example.com: 0.40 %, past the 0.30 % that pauses;
    # each campaign alone has fewer than the 500 delivered the guards need to judge it
    _delivered_and_complained(app, sent, complaints=_of(app, first)[:2])
    third = _campaign(client, "d", 10)  # not one sent yet: paused all the same
    # first has nothing left to send: a finished campaign is not judged, nor paused
    assert sorted(_guard(app).run()) == sorted([second, third])
    reason = (
        "sending domain example.com, last 24 h: complaints 0.40 % of 500 delivered, past the"
        " 0.30 % that pauses a campaign"
    )
    for campaign in (second, third):
        shown = _shown(client, campaign)
        assert (shown["state"], shown["pause_reason"]) == ("paused", reason)
        domain = shown["guards"]["domain"]
        assert (domain["name"], domain["delivered"], domain["complaint_rate"]) == (
            "example.com", 500, 0.004
        )  # fmt: skip
    assert _shown(client, first)["state"] == "done"
    assert _shown(client, elsewhere)["state"] == "done"  # another domain: not paused
    # nothing more is sent until an operator resumes; the resumed one counts from the resume
    assert _send(app, 1000) == []
    client.post(f"/campaigns/{second}/resume", headers=AUTH)
    assert _guard(app).run() == []
    assert len(_send(app, 1000)) == 100
    assert (_shown(client, second)["state"], _shown(client, third)["state"]) == ("done", "paused")
    assert len(infobip.ledger) == 650


def test_complaints_past_the_domains_warning_rate_show_a_warning_on_its_campaigns(
    app: Flask, client: FlaskClient
) -> None:
    first = _campaign(client, "a", 300)
    second = _campaign(client, "b", 300)
    sent = _send(app, 500)
    _delivered_and_complained(app, sent, complaints=_of(app, second)[:1])  # 0.20 %: past 0.10 %
    assert _guard(app).run() == []
    warning = (
        "sending domain example.com, last 24 h: complaints 0.20 % of 500 delivered, past the"
        " 0.10 % warning"
    )
    shown = _shown(client, second)
    assert (shown["state"], shown["guards"]["warning"]) == ("running", warning)
    shown = _shown(client, first)  # finished before: not judged
    assert (shown["state"], shown["guards"]["warning"]) == ("done", None)
    settings = app.extensions["emailhook"].settings
    env = {
        "EMAILHOOK_DATA_DIR": str(settings.data_dir),
        "EMAILHOOK_INFOBIP_BASE_URL": str(settings.infobip_base_url),
        "EMAILHOOK_INFOBIP_API_KEY": INFOBIP_KEY,
        **({"EMAILHOOK_DATABASE_URL": settings.database_url} if settings.database_url else {}),
    }
    shown_by_cli = CliRunner().invoke(main, ["campaign", "show", second], env=env)
    assert f"warning: {warning}" in shown_by_cli.stdout, shown_by_cli.output


def test_an_infobip_high_bounce_rate_event_pauses_its_running_campaigns_from_the_domain_once(
    app: Flask, client: FlaskClient
) -> None:
    through_infobip = _campaign(client, "a", 10)
    through_smtp = _campaign(client, "b", 10, provider="smtp")
    other_domain = _campaign(client, "c", 10, **{"from": "news@other.example"})
    outcome = process(app, [WARNING_EVENT])
    assert outcome.paused == [through_infobip]  # counted by the worker: scope "platform"
    assert outcome.as_dict()["paused"] == [through_infobip]
    shown = _shown(client, through_infobip)
    assert (shown["state"], shown["pause_reason"]) == (
        "paused",
        "infobip HIGH_BOUNCE_RATE_WARNING for example.com: bounce rate 4.6 % (HOURLY), past its"
        " 3 % (event 550e8400-e29b-41d4-a716-446655440000)",
    )
    assert _shown(client, through_smtp)["state"] == "running"
    assert _shown(client, other_domain)["state"] == "running"
    # the operator resumes; Infobip posts the same event again: stored once, acted on once
    client.post(f"/campaigns/{through_infobip}/resume", headers=AUTH)
    assert process(app, [WARNING_EVENT]).paused == []
    assert _shown(client, through_infobip)["state"] == "running"
