"""A campaign's report (``GET /campaigns/<id>/report``, ``emailhook campaign report``): every
recipient's message once, why the suppressed were not sent, and what the events said of the
sent ones, as CSV no spreadsheet evaluates; on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from emailhook.adapters.db.models import OutboxMessage
from emailhook.adapters.reads.campaign_report import COLUMNS, report_chunks
from emailhook.entrypoints.cli.main import main
from emailhook.service.send.relay import SendRelay, SendRelayPolicy
from emailhook.settings import Settings
from support.clock import Clock
from support.fake_senders import FakeInfobipSender
from support.infobip_bodies import report, reports
from support.send_app import app_on, cleared, dispatch
from support.sent_messages import process

KEY = "campaign-report-key-1"
AUTH = {"Authorization": f"Bearer {KEY}"}
INFOBIP_KEY = "infobip-key-for-report-tests"
MESSAGE = {"from": "Cobranca <cobranca@example.com>", "subject": "Ola {{name}}", "text": "Oi"}
TABLES = ("outbox", "message", "send_attempt", "campaign", "send_rate_bucket", "suppression")
TABLES += ("suppression_evidence", "email_callback")
#: a valid address a spreadsheet would read as a formula
FORMULA = "+cmd@evil.example"


@pytest.fixture(scope="module")
def infobip() -> Iterator[FakeInfobipSender]:
    with FakeInfobipSender(api_key=INFOBIP_KEY) as fake:
        yield fake


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def shared_app(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    infobip: FakeInfobipSender,
) -> Iterator[Flask]:
    tmp_path = tmp_path_factory.mktemp("campaign-report")

    def settings(url: str | None) -> Settings:
        return Settings(
            data_dir=tmp_path,
            database_url=url,
            send_api_keys=KEY,
            infobip_base_url=infobip.url,
            infobip_api_key=INFOBIP_KEY,
            infobip_send_rate=1000,
        )

    with app_on(request.param, settings) as made:
        yield made


@pytest.fixture
def app(shared_app: Flask, infobip: FakeInfobipSender) -> Flask:
    infobip.ledger.clear()
    return cleared(shared_app, TABLES)


def _campaign(client: FlaskClient, emails: list[str]) -> str:
    lines = [MESSAGE] + [
        {"email": e, "metadata": {"qj_contact_id": 500 + n}} for n, e in enumerate(emails)
    ]
    body = b"".join(orjson.dumps(line) + b"\n" for line in lines)
    answer = client.post("/campaigns", data=body, content_type="application/x-ndjson", headers=AUTH)
    assert answer.status_code == 202, answer.get_json()
    return str(answer.get_json()["id"])


def _send_all(app: Flask) -> None:
    published: list[list[str]] = []
    relay = SendRelay(
        app.extensions["emailhook"].database.sessions,
        published.append,
        SendRelayPolicy(redelivery_seconds=60.0),
        {"infobip": 100},
        clock=Clock(datetime.now(UTC)),
    )
    settings = app.extensions["emailhook"].settings
    while relay.run_once():
        while published:
            dispatch(settings, app, published.pop(0))


def _rows(answer_text: str) -> dict[str, dict[str, str]]:
    return {row["email"]: row for row in csv.DictReader(io.StringIO(answer_text))}


def test_the_report_has_each_recipient_once_with_its_state_reason_and_outcomes(
    app: Flask, infobip: FakeInfobipSender
) -> None:
    client = app.test_client()
    with app.extensions["emailhook"].database.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO suppression_evidence (email, reason, source, first_at, last_at)"
                " VALUES ('gone@example.com', 'hard_bounce', 'emailhook', :t, :t)"
            ),
            {"t": datetime.now(UTC).replace(tzinfo=None) - timedelta(days=1)},
        )
    emails = ["ana@example.com", "gone@example.com", FORMULA, "bia@example.com"]
    campaign = _campaign(client, emails)
    _send_all(app)
    with app.extensions["emailhook"].database.sessions.begin() as session:
        ids = dict(session.execute(select(OutboxMessage.email, OutboxMessage.public_id)).all())
    delivered_at = datetime.now(UTC)
    complaint = {
        "notificationType": "COMPLAINED",
        "eventId": "c-1",
        "messageId": ids["ana@example.com"],
        "recipient": "ana@example.com",
        "sendDateTime": 1721152014966,
    }
    process(
        app,
        [
            reports(
                report(
                    "ana@example.com", delivered_at, "DELIVERED", message_id=ids["ana@example.com"]
                )
            ),
            orjson.dumps(complaint),
        ],
    )

    answer = client.get(f"/campaigns/{campaign}/report", headers=AUTH)
    assert answer.status_code == 200
    assert answer.mimetype == "text/csv"
    assert f'filename="{campaign}.csv"' in answer.headers["Content-Disposition"]
    assert answer.text.splitlines()[0] == ",".join(COLUMNS)
    rows = _rows(answer.text)
    assert sorted(rows) == sorted(
        ["ana@example.com", "gone@example.com", "'" + FORMULA, "bia@example.com"]
    )
    ana, gone, bia = rows["ana@example.com"], rows["gone@example.com"], rows["bia@example.com"]
    assert (ana["status"], ana["qj_contact_id"], ana["message_id"]) == (
        "sent", "500", ids["ana@example.com"]
    )  # fmt: skip
    assert ana["delivered_at"] != ""
    assert ana["complained_at"] != ""
    assert (ana["bounced_at"], ana["opened_at"]) == ("", "")
    assert (gone["status"], gone["reason"], gone["sent_at"]) == ("suppressed", "hard_bounce", "")
    assert (bia["status"], bia["provider"], bia["delivered_at"]) == ("sent", "infobip", "")
    assert bia["provider_message_id"] != ""
    assert rows["'" + FORMULA]["status"] == "sent"  # the cell neutralized, the value kept
    assert len(infobip.ledger) == 3


def test_the_report_is_read_in_chunks_by_address_each_row_once(app: Flask) -> None:
    client = app.test_client()
    emails = [f"r{n:03}@example.com" for n in range(50)]
    campaign = _campaign(client, list(reversed(emails)))
    chunks = list(report_chunks(app.extensions["emailhook"].database.sessions, campaign, chunk=7))
    assert [len(c) for c in chunks] == [7] * 7 + [1]
    assert [row[0] for chunk in chunks for row in chunk] == emails
    whole = _rows(client.get(f"/campaigns/{campaign}/report", headers=AUTH).text)
    assert list(whole) == emails


def test_the_report_names_an_unknown_campaign(app: Flask) -> None:
    missing = app.test_client().get("/campaigns/cmp_nope/report", headers=AUTH)
    assert missing.status_code == 404
    assert "cmp_nope" in missing.get_json()["message"]


def test_the_report_takes_a_send_key_or_an_operators_credentials(
    tmp_path: Path, infobip: FakeInfobipSender
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        send_api_keys=KEY,
        operator_users="ops:ops-password-for-tests",
        infobip_base_url=infobip.url,
        infobip_api_key=INFOBIP_KEY,
    )
    with app_on("sqlite", lambda _url: settings) as guarded:
        client = guarded.test_client()
        campaign = _campaign(client, ["ana@example.com"])
        url = f"/campaigns/{campaign}/report"
        assert client.get(url).status_code == 401
        assert (
            client.get(url, headers={"Authorization": "Bearer wrong-key-1234"}).status_code == 401
        )
        operator = {
            "Authorization": "Basic " + base64.b64encode(b"ops:ops-password-for-tests").decode()
        }
        assert client.get(url, headers=operator).status_code == 200
        assert client.get(url, headers=AUTH).status_code == 200


def test_the_cli_writes_the_same_report(app: Flask, tmp_path: Path) -> None:
    client = app.test_client()
    campaign = _campaign(client, ["ana@example.com", "bia@example.com"])
    settings = app.extensions["emailhook"].settings
    env: dict[str, Any] = {
        "EMAILHOOK_DATA_DIR": str(settings.data_dir),
        "EMAILHOOK_SEND_API_KEYS": KEY,
        "EMAILHOOK_INFOBIP_BASE_URL": str(settings.infobip_base_url),
        "EMAILHOOK_INFOBIP_API_KEY": INFOBIP_KEY,
        **({"EMAILHOOK_DATABASE_URL": settings.database_url} if settings.database_url else {}),
    }
    out = tmp_path / "report.csv"
    done = CliRunner().invoke(main, ["campaign", "report", campaign, "-o", str(out)], env=env)
    assert done.exit_code == 0, done.output
    by_http = client.get(f"/campaigns/{campaign}/report", headers=AUTH).text
    assert out.read_bytes().decode("utf-8") == by_http
    missing = CliRunner().invoke(main, ["campaign", "report", "cmp_nope"], env=env)
    assert missing.exit_code != 0
    assert "cmp_nope" in missing.output
