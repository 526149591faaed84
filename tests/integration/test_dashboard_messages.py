"""The dashboard's Messages pages against a real database (SQLite and PostgreSQL), with
messages accepted through ``POST /messages``, sent to the local fake Infobip and reported back
through ``POST /email``: the outbox per state, the batches, the filtered pages and one
message's lifecycle."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from emailhook import create_app
from emailhook.settings import Settings
from support.fake_senders import FakeInfobipSender
from support.operators import OPERATOR, credentials
from support.sent_messages import INFOBIP_KEY, dispatch, report_delivered, suppress_hard_bounce
from support.services import fresh_postgres_database

SEND_KEY = "send-key-1"


@pytest.fixture(scope="module")
def infobip() -> Iterator[FakeInfobipSender]:
    with FakeInfobipSender(api_key=INFOBIP_KEY) as fake:
        yield fake


def _settings(tmp_path: Path, fake: FakeInfobipSender, **more: Any) -> Settings:
    return Settings(
        data_dir=tmp_path,
        send_api_keys=SEND_KEY,
        infobip_base_url=fake.url,
        infobip_api_key=INFOBIP_KEY,
        **more,
    )


@pytest.fixture(params=["sqlite", "postgres"])
def app(
    request: pytest.FixtureRequest, tmp_path: Path, infobip: FakeInfobipSender
) -> Iterator[Flask]:
    if request.param == "sqlite":
        yield create_app(_settings(tmp_path, infobip))
        return
    with fresh_postgres_database(migrated=True) as url:
        made = create_app(_settings(tmp_path, infobip, database_url=url))
        yield made
        made.extensions["emailhook"].database.engine.dispose()
        made.extensions["emailhook"].reads.engine.dispose()


def _send(client: FlaskClient, body: dict[str, Any]) -> dict[str, Any]:
    answer = client.post("/messages", json=body, headers={"Authorization": f"Bearer {SEND_KEY}"})
    assert answer.status_code == 202, answer.data
    found: dict[str, Any] = answer.json  # type: ignore[assignment]
    return found


def _page(client: FlaskClient, url: str, **headers: str) -> str:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.data[:300]
    assert response.content_type.startswith("text/html")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    return response.get_data(as_text=True)


def _rows(html: str) -> list[tuple[str, str]]:
    """The message rows of a page: (id, state)."""
    return re.findall(r'<tr class="message" data-id="([^"]+)" data-status="([^"]+)">', html)


@pytest.fixture
def sent(app: Flask) -> dict[str, Any]:
    """Two batches: three recipients (one suppressed, two sent, one of those delivered), and
    one message scheduled for later."""
    client = app.test_client()
    suppress_hard_bounce(app, "gone@example.com")
    first = _send(
        client,
        {
            "from": "cobranca@example.com",
            "subject": "Fatura <script>alert(1)</script>",
            "text": "Sua fatura",
            "to": [
                {"email": "ana@example.com", "metadata": {"qj_contact_id": 101}},
                {"email": "bia@example.com", "metadata": {"qj_contact_id": 102}},
                {"email": "gone@example.com", "metadata": {"qj_contact_id": 103}},
            ],
        },
    )
    ana, bia, gone = (m["id"] for m in first["messages"])
    dispatch(app, [ana, bia])
    report_delivered(app, ana, "ana@example.com", 101)
    later = _send(
        client,
        {
            "from": "cobranca@example.com",
            "subject": "Depois",
            "text": "x",
            "send_at": "2099-01-01T00:00:00Z",
            "to": ["cris@example.com"],
        },
    )
    return {
        "first": first["batch_id"],
        "later": later["batch_id"],
        "ana": ana,
        "bia": bia,
        "gone": gone,
        "cris": later["messages"][0]["id"],
    }


def test_the_page_counts_the_outbox_per_state_and_each_batch(
    app: Flask, sent: dict[str, Any]
) -> None:
    html = _page(app.test_client(), "/dashboard/messages")
    counts = dict(re.findall(r'data-count="(\w+)">.*?class="value">(\d+)<', html, re.S))
    assert counts == {
        "queued": "0",
        "scheduled": "1",
        "sending": "0",
        "sent": "2",
        "failed": "0",
        "rejected": "0",
        "suppressed": "1",
        "cancelled": "0",
        "dead": "0",
        "total": "4",
    }
    batches = re.findall(r'<tr data-batch="([^"]+)">', html)
    assert batches == [sent["later"], sent["first"]]  # the newest first
    first = html[html.index(f'<tr data-batch="{sent["first"]}">') :].split("</tr>")[0]
    assert re.search(r'<td class="num">3</td>', first)
    assert 'data-state="sent">2<' in first
    assert 'data-state="suppressed">1<' in first
    assert "infobip" in first
    assert [i for i, _ in _rows(html)] == [sent["cris"], sent["gone"], sent["bia"], sent["ana"]]
    assert 'href="/dashboard/messages" aria-current="page">Messages<' in html


def test_messages_filter_by_state_batch_address_and_contact_a_page_at_a_time(
    app: Flask, sent: dict[str, Any]
) -> None:
    client = app.test_client()

    def rows(query: str) -> list[tuple[str, str]]:
        return _rows(_page(client, f"/dashboard/messages?{query}"))

    assert rows("status=suppressed") == [(sent["gone"], "suppressed")]
    assert "hard_bounce" in _page(client, "/dashboard/messages?status=suppressed")
    assert [i for i, _ in rows(f"batch_id={sent['first']}&status=")] == [
        sent["gone"],
        sent["bia"],
        sent["ana"],
    ]
    assert rows("email=ANA@example.com") == [(sent["ana"], "sent")]
    assert rows("qj_contact_id=102") == [(sent["bia"], "sent")]
    assert "no messages match" in _page(client, "/dashboard/messages?status=dead")
    first = _page(client, f"/dashboard/messages?batch_id={sent['first']}&limit=2")
    assert len(_rows(first)) == 2
    older = re.search(r'<a rel="next" href="([^"]+)">', first)
    assert older is not None
    url = older[1].replace("&amp;", "&")
    assert f"batch_id={sent['first']}" in url
    rest = _page(client, url)
    assert [i for i, _ in _rows(first) + _rows(rest)] == [sent["gone"], sent["bia"], sent["ana"]]
    assert 'rel="next"' not in rest
    for bad in ("status=lost", "qj_contact_id=x", "cursor=abc", "limit=0"):
        answer = client.get(f"/dashboard/messages?{bad}")
        assert answer.status_code == 400, bad
        assert answer.json["error"] == "invalid_query"  # type: ignore[index]


def test_a_message_shows_its_calls_events_and_outcome(app: Flask, sent: dict[str, Any]) -> None:
    client = app.test_client()
    html = _page(client, f"/dashboard/messages/{sent['ana']}")
    assert re.search(r'class="state"><span class="status s-sent">sent<', html)
    assert "Fatura &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>" not in html
    assert re.findall(r'<tr data-outcome="(\w+)">', html) == ["accepted"]
    assert re.findall(r'<li data-event-type="(\w+)">', html) == ["delivered"]
    flags = dict(re.findall(r'data-flag="(\w+)" data-on="(\w+)"', html))
    assert flags["delivered"] == "yes"
    assert {flag for flag, on in flags.items() if on == "yes"} == {"delivered"}
    assert 'href="/dashboard/contact?q=101"' in html
    contact = _page(client, "/dashboard/contact?q=101")
    assert 'id="sent-messages" href="/dashboard/messages?qj_contact_id=101"' in contact
    by_address = _page(client, "/dashboard/contact?q=bia@example.com")
    assert re.search(
        r'id="sent-messages" href="/dashboard/messages\?email=bia(@|%40)example.com"', by_address
    )
    gone = _page(client, f"/dashboard/messages/{sent['gone']}")
    assert "s-suppressed" in gone
    assert "<code>hard_bounce</code>" in gone
    assert "no provider call yet" in gone
    assert "No event has come back" in gone
    missing = client.get("/dashboard/messages/msg_nope")
    assert missing.status_code == 404
    assert "msg_nope" in missing.json["message"]  # type: ignore[index]


def test_with_operators_the_pages_ask_for_credentials(
    tmp_path: Path, infobip: FakeInfobipSender
) -> None:
    app = create_app(_settings(tmp_path, infobip, operator_users=OPERATOR))
    client = app.test_client()
    (message,) = _send(
        client, {"from": "a@example.com", "subject": "s", "text": "t", "to": ["b@example.com"]}
    )["messages"]
    for url in ("/dashboard/messages", f"/dashboard/messages/{message['id']}"):
        for headers in ({}, credentials("ana:wrong")):
            assert client.get(url, headers=headers).status_code == 401
        assert 'id="open-banner"' not in _page(client, url, **credentials(OPERATOR))
        # the send key opens the send API, not the dashboard
        assert client.get(url, headers={"Authorization": f"Bearer {SEND_KEY}"}).status_code == 401
