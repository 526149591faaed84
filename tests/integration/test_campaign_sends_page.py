"""The dashboard's campaign send pages against a real database (SQLite and PostgreSQL): a
campaign uploaded through ``POST /campaigns``, sent at known minutes, its delivery reports
and complaints posted back through ``POST /email`` and processed; the page shows its
progress, its outcomes per minute (the tally the send path and the worker keep), its guards
beside their thresholds and why it is paused; its buttons pause, resume and cancel it with
the operators' credentials, from the dashboard's own pages only; hostile values escaped."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from emailhook import create_app
from emailhook.adapters.db.models import DomainMinute, OutboxMessage
from emailhook.adapters.store import campaign_tally, guards, held
from emailhook.adapters.store.message_rebuild import rebuild_messages
from emailhook.composition.policies import guard_rule
from emailhook.domain.sending.guards import Outcomes
from emailhook.service.send.campaign_guard import CampaignGuard
from emailhook.service.send.campaign_progress import CampaignProgress
from emailhook.settings import Settings
from support.clock import Clock
from support.fake_senders import FakeInfobipSender
from support.infobip_bodies import report, reports
from support.operators import OPERATOR, credentials
from support.sent_messages import process
from support.services import fresh_postgres_database

KEY = "campaign-page-key-1"
AUTH = {"Authorization": f"Bearer {KEY}"}
OPERATORS = credentials(OPERATOR)
#: what a browser sends with a form posted from the dashboard's own page
SAME_ORIGIN = {**OPERATORS, "Origin": "http://localhost"}
INFOBIP_KEY = "infobip-key-for-page-tests"
HOSTILE = "<script>alert('x')</script>"
MESSAGE = {
    "from": "Cobranca <cobranca@example.com>",
    "subject": f"Fatura {HOSTILE}",
    "text": "Sua fatura",
    "metadata": {"qj_approach_flow_campaign": HOSTILE},
}


@pytest.fixture(scope="module")
def infobip() -> Iterator[FakeInfobipSender]:
    with FakeInfobipSender(api_key=INFOBIP_KEY) as fake:
        yield fake


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def app(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    infobip: FakeInfobipSender,
) -> Iterator[Flask]:
    """One app per backend for the module (building one costs more than a test)."""
    settings = {
        "data_dir": tmp_path_factory.mktemp("sends"),
        "send_api_keys": KEY,
        "operator_users": OPERATOR,
        "infobip_base_url": infobip.url,
        "infobip_api_key": INFOBIP_KEY,
        "campaign_guard_min_delivered": 20,
    }
    if request.param == "sqlite":
        made = create_app(Settings(**settings))  # type: ignore[arg-type]
        yield made
        _dispose(made)
        return
    with fresh_postgres_database(migrated=True) as url:
        made = create_app(Settings(database_url=url, **settings))  # type: ignore[arg-type]
        yield made
        _dispose(made)


def _dispose(app: Flask) -> None:
    services = app.extensions["emailhook"]
    services.database.engine.dispose()
    services.reads.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _create(
    client: FlaskClient, recipients: int, prefix: str, sender: str = str(MESSAGE["from"])
) -> str:
    """Upload a campaign of ``recipients`` addresses of their own (the module's app is shared:
    an address that bounced in an earlier test is on the suppression list)."""
    prefix += uuid.uuid4().hex[:8]
    lines = [
        {**MESSAGE, "from": sender},
        *({"email": f"{prefix}{n}@example.com"} for n in range(recipients)),
    ]
    answer = client.post(
        "/campaigns",
        data=b"".join(orjson.dumps(line) + b"\n" for line in lines),
        content_type="application/x-ndjson",
        headers=AUTH,
    )
    assert answer.status_code == 202, answer.get_json()
    campaign: str = answer.get_json()["id"]
    return campaign


def _messages(app: Flask, campaign: str) -> list[tuple[str, str]]:
    """The campaign's messages: (id, address), in upload order."""
    with app.extensions["emailhook"].database.sessions.begin() as session:
        rows = session.execute(
            select(OutboxMessage.public_id, OutboxMessage.email)
            .where(OutboxMessage.campaign_id == campaign)
            .order_by(OutboxMessage.id)
        ).all()
    return [(public_id, email) for public_id, email in rows]


def _settle_sent(app: Flask, ids: list[str], at: datetime) -> None:
    """Settle ``ids`` sent at ``at``, as the worker does once the provider accepted them."""
    with app.extensions["emailhook"].database.sessions.begin() as session:
        held.settle_sent(session, [(public_id, public_id) for public_id in ids], at)


def _complaint(public_id: str, to: str) -> bytes:
    """An Infobip tracking event (``seen_tracking_data_dict.json``'s shape): a complaint."""
    return orjson.dumps(
        {
            "notificationType": "COMPLAINED",
            "eventId": f"complained-{public_id}",
            "messageId": public_id,
            "recipient": to,
            "sendDateTime": 1721152014966,
        }
    )


def _bounce(public_id: str, to: str, *, hard: bool, late: int = 0) -> dict[str, Any]:
    return report(
        to,
        datetime.now(UTC) + timedelta(seconds=late),
        "UNDELIVERABLE",
        message_id=public_id,
        error_id=10,
        permanent=hard,
    )


@pytest.fixture
def sent(app: Flask, client: FlaskClient) -> dict[str, Any]:
    """A campaign of 40: 30 sent (20 in the first minute, 10 two minutes later), 10 left
    queued. Of the first minute's: 16 delivered (2 of them complained), 3 bounced hard, 1
    bounced soft then hard; of the later minute's: 10 delivered."""
    campaign = _create(client, 40, "p")
    messages = _messages(app, campaign)
    first, later = messages[:20], messages[20:30]
    # sent in the minute it was made (or the next, at the turn), and two minutes on
    at = datetime.now(UTC).replace(second=59, microsecond=0)
    _settle_sent(app, [m for m, _ in first], at)
    _settle_sent(app, [m for m, _ in later], at + timedelta(minutes=2))
    now = datetime.now(UTC)
    delivered = [report(to, now, "DELIVERED", message_id=m) for m, to in first[:16] + later]
    soft_then_hard = first[19]
    process(
        app,
        [
            reports(*delivered),
            *(_complaint(m, to) for m, to in first[:2]),
            reports(*(_bounce(m, to, hard=True) for m, to in first[16:19])),
            reports(_bounce(*soft_then_hard, hard=False)),
        ],
    )
    process(app, [reports(_bounce(*soft_then_hard, hard=True, late=1))])
    return {"id": campaign, "first": first, "later": later, "at": at}


def _page(client: FlaskClient, url: str) -> str:
    response = client.get(url, headers=OPERATORS)
    assert response.status_code == 200, response.data[:300]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    return response.get_data(as_text=True)


def _count(html: str, name: str) -> str:
    found = re.search(rf'data-count="{name}">.*?<span class="value[^"]*">([^<]*)</span>', html)
    assert found, name
    return found.group(1)


def test_the_tally_counts_each_message_and_outcome_once_in_the_minute_it_was_sent(
    app: Flask, sent: dict[str, Any]
) -> None:
    with app.extensions["emailhook"].reads.sessions.begin() as session:
        minutes = campaign_tally.minutes(session, sent["id"])
    first = sent["at"].replace(second=0)
    second = first + timedelta(minutes=2)
    assert minutes == {
        first: {
            "sent": 20,
            "final": 20,
            "delivered": 16,
            "bounced": 4,
            "hard_bounced": 4,
            "soft_bounced": 1,
            "complained": 2,
            "unsubscribed": 0,
        },
        second: {
            "sent": 10,
            "final": 10,
            "delivered": 10,
            "bounced": 0,
            "hard_bounced": 0,
            "soft_bounced": 0,
            "complained": 0,
            "unsubscribed": 0,
        },
    }
    # the same events posted again change nothing: each outcome once per message
    m, to = sent["first"][0]
    process(app, [reports(report(to, datetime.now(UTC), "DELIVERED", message_id=m))])
    process(app, [_complaint(m, to)])
    with app.extensions["emailhook"].reads.sessions.begin() as session:
        assert campaign_tally.minutes(session, sent["id"]) == minutes
    # a rebuild (``emailhook state rebuild``) replays every event: the same tally again,
    # the soft-then-hard message's hard bounce counted once although its batch came later
    with app.extensions["emailhook"].database.sessions.begin() as session:
        rebuild_messages(session, batch_size=7)
    with app.extensions["emailhook"].reads.sessions.begin() as session:
        assert campaign_tally.minutes(session, sent["id"]) == minutes
    progress = CampaignProgress(
        app.extensions["emailhook"].reads.sessions, Clock(second + timedelta(minutes=1))
    )
    tally = progress.tally(sent["id"], first - timedelta(minutes=1))
    assert tally.minutes == [first + timedelta(minutes=n) for n in range(-1, 4)]
    assert tally.series["sent"] == [0, 20, 0, 10, 0]
    assert tally.series["delivered"] == [0, 16, 0, 10, 0]
    assert tally.series["complained"] == [0, 2, 0, 0, 0]
    assert tally.series["hard_bounced"] == [0, 4, 0, 0, 0]


def _domain_minutes(app: Flask, domain: str) -> dict[datetime, dict[str, int]]:
    with app.extensions["emailhook"].reads.sessions.begin() as session:
        rows = session.execute(select(DomainMinute).where(DomainMinute.domain == domain))
        return {
            row.minute: {name: getattr(row, name) for name in campaign_tally.COUNTS}
            for row in rows.scalars()
        }


def test_the_domain_tally_counts_each_message_and_outcome_once_in_the_minute_it_was_sent(
    app: Flask, client: FlaskClient
) -> None:
    # a domain of the test's own: the module's other tests send from example.com
    domain = f"d{uuid.uuid4().hex[:8]}.example"
    campaign_id = _create(client, 6, "d", sender=f"Cobranca <cobranca@{domain}>")
    campaign = _messages(app, campaign_id)
    single_to = f"s{uuid.uuid4().hex[:8]}@example.com"
    answer = client.post(
        "/messages",
        json={"from": f"x@{domain}", "subject": "Ola", "text": "Oi", "to": [single_to]},
        headers=AUTH,
    )
    assert answer.status_code == 202, answer.get_json()
    single = (answer.get_json()["messages"][0]["id"], single_to)
    elsewhere = _messages(app, _create(client, 2, "e"))  # from example.com: not counted
    # the campaign's first four and the POST /messages one in a minute, two more two later
    first, later = [*campaign[:4], single], campaign[4:]
    at = datetime.now(UTC).replace(second=59, microsecond=0)
    _settle_sent(app, [m for m, _ in first + elsewhere], at)
    _settle_sent(app, [m for m, _ in later], at + timedelta(minutes=2))
    now = datetime.now(UTC)
    delivered = [
        report(to, now, "DELIVERED", message_id=m) for m, to in [*first[:3], single, later[0]]
    ]
    process(
        app,
        [
            reports(*delivered, *(report(t, now, "DELIVERED", message_id=m) for m, t in elsewhere)),
            *(_complaint(m, to) for m, to in (first[0], single)),
            reports(_bounce(*first[3], hard=True)),
            reports(_bounce(*later[1], hard=False)),
        ],
    )
    process(app, [reports(_bounce(*later[1], hard=True, late=1))])
    minute = at.replace(second=0)
    zeros = dict.fromkeys(campaign_tally.COUNTS, 0)
    expected = {
        minute: {
            **zeros, "sent": 5, "final": 5, "delivered": 4, "bounced": 1, "hard_bounced": 1,
            "complained": 2,
        },
        minute + timedelta(minutes=2): {
            **zeros, "sent": 2, "final": 2, "delivered": 1, "bounced": 1, "hard_bounced": 1,
            "soft_bounced": 1,
        },
    }  # fmt: skip
    assert _domain_minutes(app, domain) == expected
    # the same events posted again change nothing: each outcome once per message
    m, to = first[0]
    process(app, [reports(report(to, datetime.now(UTC), "DELIVERED", message_id=m))])
    process(app, [_complaint(m, to), reports(_bounce(*first[3], hard=True, late=2))])
    assert _domain_minutes(app, domain) == expected
    # a rebuild (``emailhook state rebuild``) replays every event: the same tally again
    with app.extensions["emailhook"].database.sessions.begin() as session:
        rebuild_messages(session, batch_size=3)
    assert _domain_minutes(app, domain) == expected
    # the guard sums the window's minutes; one that starts within a minute (a resume) counts
    # from the next whole minute
    with app.extensions["emailhook"].reads.sessions.begin() as session:
        window = guards.domain_outcomes(session, domain, now - timedelta(hours=24))
        resumed = guards.domain_outcomes(session, domain, minute)
    assert window == Outcomes(delivered=5, final=7, complained=2, hard_bounced=2)
    assert resumed == Outcomes(delivered=1, final=2, complained=0, hard_bounced=1)
    shown = client.get(f"/campaigns/{campaign_id}", headers=AUTH).get_json()["guards"]["domain"]
    assert (shown["name"], shown["delivered"], shown["complaint_rate"]) == (domain, 5, 0.4)


def test_the_page_shows_progress_per_minute_guards_beside_thresholds_and_the_pause_reason(
    app: Flask, client: FlaskClient, sent: dict[str, Any]
) -> None:
    guard = CampaignGuard(
        app.extensions["emailhook"].database.sessions,
        guard_rule(app.extensions["emailhook"].settings),
    )
    assert sent["id"] in guard.run()  # 2 complaints of 26 delivered: past 0.3 %
    html = _page(client, f"/dashboard/sends/{sent['id']}")
    assert '<meta http-equiv="refresh" content="5">' in html  # live
    assert _count(html, "state") == "paused"
    assert (_count(html, "queued"), _count(html, "sent")) == ("10", "30")
    assert (_count(html, "delivered"), _count(html, "complained")) == ("26", "2")
    assert (_count(html, "hard_bounced"), _count(html, "soft_bounced")) == ("4", "1")
    reason = re.search(r'id="pause-reason">(.*?)</p>', html, re.S)
    assert reason
    assert "complaints 7.69 % of 26 delivered" in reason.group(1)
    guards = re.search(r'<tr data-guard="complaint">(.*?)</tr>', html, re.S)
    assert guards
    cells = re.findall(r'<td class="num">([^<]*)</td>', guards.group(1))
    assert cells == ["7.69 %", "0.10 %", "0.30 %"]  # the rate, its warning, its pause
    assert "past the pause threshold" in guards.group(1)
    # the chart: sent per minute, a bar a minute with its count
    chart = re.search(r'id="sent-chart">(.*?)</figure>', html, re.S)
    assert chart
    bars = re.findall(r'<desc class="value">(\d+)</desc><desc class="x_label">([^<]+)', chart[1])
    first = sent["at"]
    assert bars == [("20", f"{first:%H:%M}"), ("10", f"{first + timedelta(minutes=2):%H:%M}")]
    # the report, downloaded with the operator's credentials: a row per recipient
    link = re.search(r'<a class="button" id="report" href="([^"]+)"', html)
    assert link
    assert link.group(1) == f"/campaigns/{sent['id']}/report"
    assert client.get(link.group(1)).status_code == 401  # no credentials
    report = client.get(link.group(1), headers=OPERATORS)
    assert report.status_code == 200
    assert report.text.count("\r\n") == 1 + 40  # the header, and each of the 40 recipients
    listed = _page(client, "/dashboard/sends")
    row = re.search(
        rf'<tr class="send" data-id="{sent["id"]}" data-state="paused">(.*?)</tr>', listed, re.S
    )
    assert row
    assert "complaints 7.69 %" in row.group(1)
    shown = dict(re.findall(r'<td class="num" data-count="(\w+)">([^<]*)</td>', row.group(1)))
    assert (shown["sent"], shown["delivered"], shown["complained"]) == ("30", "26", "2")


def test_hostile_values_are_escaped(app: Flask, client: FlaskClient) -> None:
    campaign = _create(client, 2, "h")
    done = client.post(
        f"/dashboard/sends/{campaign}/pause", data={"reason": HOSTILE}, headers=SAME_ORIGIN
    )
    assert done.status_code == 303
    for html in (_page(client, f"/dashboard/sends/{campaign}"), _page(client, "/dashboard/sends")):
        assert "<script>" not in html
        assert "&lt;script&gt;alert(" in html


def test_the_buttons_pause_resume_and_cancel_with_credentials_from_the_dashboard_only(
    app: Flask, client: FlaskClient
) -> None:
    campaign = _create(client, 3, "b")
    html = _page(client, f"/dashboard/sends/{campaign}")
    for action in ("pause", "cancel"):
        assert f'action="/dashboard/sends/{campaign}/{action}"' in html
    url = f"/dashboard/sends/{campaign}/pause"
    assert client.post(url, headers={"Origin": "http://localhost"}).status_code == 401
    for foreign in ({}, {"Origin": "https://evil.example"}, {"Referer": "https://evil.example/"}):
        assert client.post(url, headers={**OPERATORS, **foreign}).status_code == 403
    assert client.post(url, headers={**SAME_ORIGIN, **AUTH}).status_code == 401  # a send key
    paused = client.post(url, data={"reason": "checking the list"}, headers=SAME_ORIGIN)
    assert paused.status_code == 303
    assert paused.headers["Location"].endswith(f"/dashboard/sends/{campaign}?done=paused")
    shown = client.get(f"/campaigns/{campaign}", headers=AUTH).get_json()
    assert (shown["state"], shown["pause_reason"]) == (
        "paused",
        "checking the list (ana, dashboard)",
    )
    html = _page(client, f"/dashboard/sends/{campaign}?done=paused")
    assert 'id="done">Campaign paused.' in html
    assert f'action="/dashboard/sends/{campaign}/resume"' in html
    resumed = client.post(f"/dashboard/sends/{campaign}/resume", headers=SAME_ORIGIN)
    assert resumed.status_code == 303
    assert client.get(f"/campaigns/{campaign}", headers=AUTH).get_json()["state"] == "running"
    cancel = f"/dashboard/sends/{campaign}/cancel"
    assert client.post(cancel, headers=SAME_ORIGIN).status_code == 400  # not confirmed
    assert client.get(f"/campaigns/{campaign}", headers=AUTH).get_json()["state"] == "running"
    cancelled = client.post(cancel, data={"confirm": "yes"}, headers=SAME_ORIGIN)
    assert cancelled.status_code == 303
    shown = client.get(f"/campaigns/{campaign}", headers=AUTH).get_json()
    assert (shown["state"], shown["messages"]["cancelled"]) == ("cancelled", 3)
    html = _page(client, f"/dashboard/sends/{campaign}")
    assert 'http-equiv="refresh"' not in html  # nothing more to follow
    assert "/resume" not in html
    assert "/cancel" not in html
    assert (
        client.post(f"/dashboard/sends/{campaign}/resume", headers=SAME_ORIGIN).status_code == 409
    )
    assert client.get("/dashboard/sends/cmp_nope", headers=OPERATORS).status_code == 404


def test_the_list_shows_a_running_campaign_with_nothing_left_to_send_as_done(
    app: Flask, client: FlaskClient
) -> None:
    campaign = _create(client, 2, "d")
    row = rf'<tr class="send" data-id="{campaign}" data-state="(\w+)">'
    assert re.findall(row, _page(client, "/dashboard/sends")) == ["running"]
    _settle_sent(app, [m for m, _ in _messages(app, campaign)], datetime.now(UTC))
    assert re.findall(row, _page(client, "/dashboard/sends")) == ["done"]
    assert _count(_page(client, f"/dashboard/sends/{campaign}"), "state") == "done"
