"""GET /stats through the real Flask app, inbox and processor: every provider's own samples,
posted through its own path, give per-message counts and rates that equal the messages their
stored events describe; a message opened three times is one opened message."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from emailhook.adapters.db.models import Message
from support.message_oracle import expected_rates, messages_by_provider
from support.provider_app import NOT_WEBHOOKS, App, _app
from support.provider_posts import PROVIDER_NAMES, Senders
from support.services import fresh_postgres_database
from support.signing import LocalServer, local_server, sample_names

CALLBACK_DATA = json.dumps({"qj_contact_id": 5, "qj_approach_flow_campaign": "june"})
SEED = Path(__file__).parents[1] / "data" / "seed"
ALL = ("infobip", *PROVIDER_NAMES)


@pytest.fixture(scope="module")
def sns_server() -> Iterator[LocalServer]:
    with local_server() as server:
        yield server


@pytest.fixture(scope="module")
def senders(sns_server: LocalServer) -> Senders:
    made = Senders(sns_server.base_url)
    sns_server.routes.update(made.routes())
    return made


@pytest.fixture
def app(tmp_path: Path, senders: Senders) -> Iterator[App]:
    made = _app(tmp_path, senders)
    yield made
    made.close()


def post_all(app: App, senders: Senders, provider: str) -> None:
    """Post every sample of ``provider`` through its own path and store the events."""
    if provider == "infobip":
        answers = [
            app.client.post("/email", data=path.read_bytes()) for path in sorted(SEED.glob("*"))
        ]
    else:
        answers = [
            app.send(senders.post(provider, name))
            for name in sample_names(provider)
            if (provider, name) not in NOT_WEBHOOKS
        ]
    assert {a.status_code for a in answers} == {200}
    bodies = [int(a.get_json()["id"]) for a in answers if "id" in (a.get_json() or {})]
    assert len(app.processor.process(bodies).done) == len(bodies)


def stats(app: App, query: str) -> dict[str, Any]:
    answer = app.client.get(f"/stats?{query}")
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()  # type: ignore[no-any-return]


@pytest.mark.parametrize("provider", ALL)
def test_each_providers_samples_give_its_messages_and_rates(
    app: App, senders: Senders, provider: str
) -> None:
    post_all(app, senders, provider)
    expected = messages_by_provider(app.database.engine)[provider]
    assert expected["messages"] > 0
    answer = stats(app, "by=provider")
    [group] = answer["groups"]
    assert group["key"] == {"provider": provider}
    assert group["messages"] == expected
    assert group["rates"] == expected_rates(expected)
    assert sum(group["events"].values()) == app.count()
    # the same numbers on the campaigns page, grouped by provider
    page = app.client.get("/dashboard/campaigns?by=provider")
    assert page.status_code == 200
    assert f'data-messages="{expected["messages"]}"' in page.get_data(as_text=True)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_all_thirteen_mixed_each_group_and_the_total(
    tmp_path: Path, senders: Senders, backend: str
) -> None:
    if backend == "sqlite":
        _all_thirteen(_app(tmp_path, senders), senders)
        return
    with fresh_postgres_database(migrated=True) as url:
        _all_thirteen(_app(tmp_path, senders, database_url=url), senders)


def _all_thirteen(app: App, senders: Senders) -> None:
    try:
        _mixed(app, senders)
    finally:
        app.close()


def _mixed(app: App, senders: Senders) -> None:
    for provider in ALL:
        post_all(app, senders, provider)
    expected = messages_by_provider(app.database.engine)
    answer = stats(app, "by=provider")
    assert {g["key"]["provider"]: g["messages"] for g in answer["groups"]} == expected
    total = {name: sum(m[name] for m in expected.values()) for name in expected["postmark"]}
    assert answer["total"]["messages"] == total
    assert answer["total"]["rates"] == expected_rates(total)
    # the events' filters in the vocabulary, and by a provider's own name
    hard = app.client.get("/email-callbacks?bounce_class=hard&limit=1000").get_json()["items"]
    assert hard
    assert {item["bounce_class"] for item in hard} == {"hard"}
    assert len({item["provider"] for item in hard}) > 5
    postmark = app.client.get("/email-callbacks?provider=postmark&status=HardBounce").get_json()
    assert [item["status"] for item in postmark["items"]] == ["HardBounce"]
    infobip = app.client.get("/email-callbacks?status=delivered&limit=1000").get_json()["items"]
    assert {(item["provider"], item["status"]) for item in infobip} == {("infobip", "DELIVERED")}
    events_page = app.client.get("/dashboard/events?event_type=bounced&bounce_class=soft")
    assert events_page.status_code == 200
    html = events_page.get_data(as_text=True)
    assert 'data-event-type="bounced"' in html
    assert 'data-event-type="delivered"' not in html
    only = stats(app, "by=provider&provider=mailgun")
    assert [g["key"] for g in only["groups"]] == [{"provider": "mailgun"}]
    assert only["total"]["messages"] == expected["mailgun"]


def test_a_message_opened_three_times_is_one_opened_message(app: App) -> None:
    def report(kind: str, n: int) -> bytes:
        event = {
            "notificationType": kind,
            "messageId": "msg-1",
            "recipient": "ana@example.com",
            "sendDateTime": 1720000000000 + n,
            "callbackData": CALLBACK_DATA,
        }
        return json.dumps(event).encode()

    delivered = {
        "results": [
            {
                "messageId": "msg-1",
                "to": "ana@example.com",
                "doneAt": "2026-01-01T00:00:00.000+0000",
                "status": {"groupName": "DELIVERED"},
                "callbackData": CALLBACK_DATA,
            }
        ]
    }
    bodies = [json.dumps(delivered).encode()] + [report("OPENED", n) for n in range(3)]
    ids = [int(app.client.post("/email", data=body).get_json()["id"]) for body in bodies]
    app.processor.process(ids)
    answer = stats(app, "by=campaign")
    [group] = answer["groups"]
    assert group["key"] == {"campaign": "june"}
    assert group["events"]["opened"] == 3
    assert group["messages"]["opened"] == group["messages"]["delivered"] == 1
    assert group["rates"]["open"] == 1.0
    assert group["rates"]["delivery"] == 1.0


def test_an_unknown_grouping_or_provider_is_a_400(app: App) -> None:
    assert app.client.get("/stats?by=weekday").status_code == 400
    assert app.client.get("/stats?provider=nobody").status_code == 400
    assert app.client.get("/stats?since=yesterday").status_code == 400
    empty = stats(app, "")
    assert empty["groups"] == [] or empty["groups"][0]["key"] == {}
    assert empty["total"]["rates"]["delivery"] is None


def test_an_event_stamped_with_our_id_joins_the_message_the_send_side_made(app: App) -> None:
    with app.database.sessions.begin() as session:
        session.add(
            Message(
                public_id="msg_01JTEST",
                provider=None,
                provider_message_id=None,
                email="bia@example.com",
                campaign="julho",
                created_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )
    report = {
        "messageId": "ib-777",
        "to": "bia@example.com",
        "doneAt": "2026-01-01T00:00:00.000+0000",
        "status": {"groupName": "DELIVERED"},
        "callbackData": json.dumps({"emailhook_id": "msg_01JTEST"}),
    }
    body_id = int(
        app.client.post("/email", data=json.dumps({"results": [report]})).get_json()["id"]
    )
    assert app.processor.process([body_id]).done == [body_id]
    with app.database.sessions() as session:
        rows = session.execute(select(Message.public_id, Message.delivered_at)).all()
    assert len(rows) == 1  # joined, not a second message
    assert rows[0].public_id == "msg_01JTEST"
    assert rows[0].delivered_at is not None
    # counted under the message's own campaign, as the send side recorded it
    groups = {g["key"]["campaign"]: g for g in stats(app, "by=campaign")["groups"]}
    group = groups["julho"]  # the event itself carries no campaign: its count is under ''
    assert groups[""]["events"]["delivered"] == 1
    assert group["messages"]["delivered"] == group["messages"]["messages"] == 1
