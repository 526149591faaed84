"""The send API through the real Flask app and database (SQLite and PostgreSQL): who may
send, what a malformed request is told (and that it keeps nothing), the suppression list and
its scope, Idempotency-Key, scheduling, cancellation and one-click unsubscribe."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text

from emailhook import create_app
from emailhook.adapters.db.models import IdempotencyRecord, Message, OutboxMessage
from emailhook.domain.sending import unsubscribe_tokens
from emailhook.settings import Settings
from support.send_app import app_on, cleared, dispose

KEY = "k3y-one"
AUTH = {"Authorization": f"Bearer {KEY}"}
UNSUB_SECRET = "unsub-1"


def _settings(data_dir: Path, database_url: str | None, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "database_url": database_url,
        "send_api_keys": f"old-key,{KEY}",
        "infobip_base_url": "http://127.0.0.1:9",  # never called here: nothing is dispatched
        "infobip_api_key": "infobip-key-for-tests",
        "public_url": "https://hooks.example.com",
        "unsubscribe_secrets": UNSUB_SECRET,
    }
    values.update(extra)
    return Settings(**values)


#: what a test may have written, emptied before the next one (the app is the module's)
TABLES = (
    "outbox",
    "message",
    "message_rollup",
    "send_attempt",
    "idempotency_key",
    "email_callback",
    "event_rollup",
    "contact_email_state",
    "contact_email_count",
    "suppression",
    "suppression_evidence",
    "suppression_lift",
)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def shared_app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    tmp_path = tmp_path_factory.mktemp("send-api")
    with app_on(request.param, lambda url: _settings(tmp_path, url)) as made:
        yield made


@pytest.fixture
def app(shared_app: Flask) -> Flask:
    return cleared(shared_app, TABLES)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _body(*to: Any, **fields: Any) -> dict[str, Any]:
    return {
        "from": "Shop <shop@example.com>",
        "subject": "Hello {{name}}",
        "text": "Hi {{name}}",
        "to": list(to) or [{"email": "ann@example.com", "merge_data": {"name": "Ann"}}],
        **fields,
    }


def _send(client: FlaskClient, body: Any, **headers: str) -> Any:
    return client.post("/messages", json=body, headers={**AUTH, **headers})


def _count(app: Flask, model: Any) -> int:
    with app.extensions["emailhook"].database.sessions.begin() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def _suppress(app: Flask, email: str, reason: str, at: datetime) -> None:
    """Put ``email`` on the list as the receive side would (evidence, then the cached row)."""
    with app.extensions["emailhook"].database.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO suppression_evidence (email, reason, source, first_at, last_at)"
                " VALUES (:e, :r, 'emailhook', :t, :t)"
            ),
            {"e": email, "r": reason, "t": at.replace(tzinfo=None)},
        )


def test_no_key_configured_the_send_api_is_404_naming_the_setting(tmp_path: Path) -> None:
    app = create_app(_settings(tmp_path, None, send_api_keys=""))
    answer = app.test_client().post("/messages", json=_body(), headers=AUTH)
    assert answer.status_code == 404
    assert "EMAILHOOK_SEND_API_KEYS" in answer.get_json()["message"]
    dispose(app)


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong", f"Basic {KEY}", "Bearer", f"bearer {KEY}x"]
)
def test_a_request_without_a_valid_key_is_401_and_keeps_nothing(
    app: Flask, client: FlaskClient, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    answer = client.post("/messages", json=_body(), headers=headers)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert _count(app, OutboxMessage) == 0


def test_every_listed_key_sends_so_a_key_rotates(client: FlaskClient) -> None:
    for key in ("old-key", KEY):
        answer = client.post("/messages", json=_body(), headers={"Authorization": f"Bearer {key}"})
        assert answer.status_code == 202


def test_an_accepted_batch_is_in_the_outbox_before_the_answer(
    app: Flask, client: FlaskClient
) -> None:
    answer = _send(
        client,
        _body(
            {"email": "Ann@Example.com", "merge_data": {"name": "Ann"},
             "metadata": {"qj_contact_id": 7}},
            "bob@example.com",
            metadata={"qj_approach_flow_campaign": "june", "qj_contact_id": 1},
        ),
    )  # fmt: skip
    assert answer.status_code == 202
    body = answer.get_json()
    assert [(m["to"], m["status"]) for m in body["messages"]] == [
        ("ann@example.com", "queued"),
        ("bob@example.com", "queued"),
    ]
    with app.extensions["emailhook"].database.sessions.begin() as session:
        rows = {r.email: r for r in session.execute(select(OutboxMessage)).scalars()}
        messages = {m.email: m for m in session.execute(select(Message)).scalars()}
    assert {r.batch_id for r in rows.values()} == {body["batch_id"]}
    ann = rows["ann@example.com"].document
    assert ann["subject"] == "Hello Ann"
    assert ann["metadata"] == {"qj_approach_flow_campaign": "june", "qj_contact_id": 7}
    assert ann["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert ann["headers"]["List-Unsubscribe"].startswith(
        "<https://hooks.example.com/unsubscribe/msg_"
    )
    assert rows["bob@example.com"].qj_contact_id == 1
    assert messages["ann@example.com"].qj_contact_id == 7
    assert messages["ann@example.com"].campaign == "june"
    assert messages["ann@example.com"].public_id == body["messages"][0]["id"]


def test_a_transactional_message_carries_no_unsubscribe_link(
    app: Flask, client: FlaskClient
) -> None:
    answer = _send(client, _body(category="transactional"))
    assert answer.status_code == 202
    with app.extensions["emailhook"].database.sessions.begin() as session:
        (row,) = session.execute(select(OutboxMessage)).scalars()
    assert "List-Unsubscribe" not in row.document["headers"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"subject": "s", "text": "t", "to": ["a@example.com"]}, "from"),
        (_body(**{"from": "not an address"}), "from"),
        (_body(text=None), "text"),
        (_body(subject=None), "subject"),
        (_body("a@@example.com"), "to[0].email"),
        (_body("ok@example.com", {"email": "victim@x.com\r\nBcc: all@x.com"}), "to[1].email"),
        (_body(*[f"u{n}@example.com" for n in range(1001)]), "to"),
        (_body(to=[]), "to"),
        (_body(provider="carrier-pigeon"), "provider"),
        (_body(headers={"Bcc": "x@example.com"}), "headers.Bcc"),
        (_body(send_at="tomorrow"), "send_at"),
        (_body(category="spam"), "category"),
        (_body(attachments=[{"filename": "a.txt", "content": "no base64!"}]),
         "attachments[0].content"),
        (_body(metadata={"qj_contact_id": 1, "x": "y" * 5000}), "to[0]"),
        (_body(colour="red"), "colour"),
        ([1, 2], ""),
    ],
)  # fmt: skip
def test_a_malformed_request_is_400_with_each_field_and_keeps_nothing(
    app: Flask, client: FlaskClient, body: Any, field: str
) -> None:
    answer = _send(client, body)
    assert answer.status_code == 400, answer.get_json()
    found = answer.get_json()
    assert found["error"] == "invalid_request"
    assert field in found["errors"], found
    assert _count(app, OutboxMessage) == 0
    assert _count(app, Message) == 0


def test_a_body_that_is_not_json_is_400(client: FlaskClient) -> None:
    answer = client.post(
        "/messages", data=b"{not json", headers={**AUTH, "Content-Type": "application/json"}
    )
    assert answer.status_code == 400
    assert answer.get_json()["error"] == "invalid_request"
    answer = client.post("/messages", data=b"a=b", headers=AUTH)
    assert answer.status_code == 400


def test_a_suppressed_recipient_is_answered_suppressed_with_its_reason(
    app: Flask, client: FlaskClient
) -> None:
    _suppress(app, "gone@example.com", "hard_bounce", datetime.now(UTC) - timedelta(days=1))
    answer = _send(client, _body("ok@example.com", "gone@example.com"))
    items = answer.get_json()["messages"]
    assert [(m["status"], m.get("reason")) for m in items] == [
        ("queued", None),
        ("suppressed", "hard_bounce"),
    ]
    shown = client.get(f"/messages/{items[1]['id']}", headers=AUTH).get_json()
    assert (shown["status"], shown["reason"]) == ("suppressed", "hard_bounce")


def test_an_unsubscribe_blocks_marketing_but_not_a_receipt(app: Flask, client: FlaskClient) -> None:
    _suppress(app, "ann@example.com", "unsubscribe", datetime.now(UTC) - timedelta(hours=1))
    marketing = _send(client, _body("ann@example.com")).get_json()["messages"][0]
    receipt = _send(client, _body("ann@example.com", category="transactional"))
    assert (marketing["status"], marketing["reason"]) == ("suppressed", "unsubscribe")
    assert receipt.get_json()["messages"][0]["status"] == "queued"


def test_a_hard_bounce_behind_an_unsubscribe_still_blocks_a_receipt(
    app: Flask, client: FlaskClient
) -> None:
    # the list shows the most severe reason only (unsubscribe); the bounce must still count
    at = datetime.now(UTC) - timedelta(hours=1)
    _suppress(app, "ann@example.com", "unsubscribe", at)
    _suppress(app, "ann@example.com", "hard_bounce", at)
    receipt = _send(client, _body("ann@example.com", category="transactional")).get_json()
    assert (receipt["messages"][0]["status"], receipt["messages"][0]["reason"]) == (
        "suppressed",
        "hard_bounce",
    )


def test_the_same_idempotency_key_and_body_gives_the_same_answer_and_keeps_one_batch(
    app: Flask, client: FlaskClient
) -> None:
    first = _send(client, _body(), **{"Idempotency-Key": "order-1"})
    again = _send(client, _body(), **{"Idempotency-Key": "order-1"})
    assert first.status_code == again.status_code == 202
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _count(app, OutboxMessage) == 1


def test_the_same_idempotency_key_with_another_body_is_422(app: Flask, client: FlaskClient) -> None:
    assert _send(client, _body(), **{"Idempotency-Key": "order-2"}).status_code == 202
    other = _send(client, _body(subject="Changed"), **{"Idempotency-Key": "order-2"})
    assert other.status_code == 422
    assert _count(app, OutboxMessage) == 1


def test_a_key_whose_first_request_is_in_flight_is_409(app: Flask, client: FlaskClient) -> None:
    # the first request took the key and has not committed its batch yet
    raw = json.dumps(_body()).encode()
    import hashlib

    with app.extensions["emailhook"].database.sessions.begin() as session:
        session.add(
            IdempotencyRecord(
                key_hash=hashlib.sha256(b"order-3").hexdigest(),
                request_hash=hashlib.sha256(b"POST /messages\n" + raw).hexdigest(),
                created_at=datetime.now(UTC),
            )
        )
    answer = client.post(
        "/messages",
        data=raw,
        headers={**AUTH, "Idempotency-Key": "order-3", "Content-Type": "application/json"},
    )
    assert answer.status_code == 409
    assert _count(app, OutboxMessage) == 0


def test_a_refused_request_frees_its_key_for_the_corrected_one(client: FlaskClient) -> None:
    bad = _send(client, _body(subject=None), **{"Idempotency-Key": "order-4"})
    assert bad.status_code == 400
    good = _send(client, _body(), **{"Idempotency-Key": "order-4"})
    assert good.status_code == 202


def test_a_key_older_than_its_hours_is_forgotten(app: Flask, client: FlaskClient) -> None:
    assert _send(client, _body(), **{"Idempotency-Key": "order-5"}).status_code == 202
    with app.extensions["emailhook"].database.engine.begin() as conn:
        conn.execute(
            text("UPDATE idempotency_key SET created_at = :t"),
            {"t": (datetime.now(UTC) - timedelta(hours=25)).replace(tzinfo=None)},
        )
    assert _send(client, _body(subject="New"), **{"Idempotency-Key": "order-5"}).status_code == 202
    assert _count(app, OutboxMessage) == 2


def test_a_message_for_later_is_scheduled_and_can_be_cancelled(
    app: Flask, client: FlaskClient
) -> None:
    later = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    item = _send(client, _body(send_at=later)).get_json()["messages"][0]
    assert item["status"] == "scheduled"
    assert item["send_at"].startswith(later[:16])
    cancelled = client.delete(f"/messages/{item['id']}", headers=AUTH)
    assert cancelled.status_code == 200
    assert cancelled.get_json() == {"id": item["id"], "status": "cancelled"}
    assert client.delete(f"/messages/{item['id']}", headers=AUTH).status_code == 200
    assert client.get(f"/messages/{item['id']}", headers=AUTH).get_json()["status"] == "cancelled"


def test_a_message_on_its_way_cannot_be_cancelled(app: Flask, client: FlaskClient) -> None:
    item = _send(client, _body()).get_json()["messages"][0]
    with app.extensions["emailhook"].database.engine.begin() as conn:
        conn.execute(text("UPDATE outbox SET state = 'sent'"))
    answer = client.delete(f"/messages/{item['id']}", headers=AUTH)
    assert answer.status_code == 409
    assert client.delete("/messages/msg_nope", headers=AUTH).status_code == 404


def test_messages_list_by_batch_contact_and_status_a_page_at_a_time(
    client: FlaskClient,
) -> None:
    first = _send(client, _body(*[f"u{n}@example.com" for n in range(5)])).get_json()
    _send(client, _body({"email": "c@example.com", "metadata": {"qj_contact_id": 42}}))
    page = client.get(f"/messages?batch_id={first['batch_id']}&limit=2", headers=AUTH).get_json()
    assert len(page["items"]) == 2
    seen = [m["id"] for m in page["items"]]
    while page["next_cursor"]:
        page = client.get(
            f"/messages?batch_id={first['batch_id']}&limit=2&cursor={page['next_cursor']}",
            headers=AUTH,
        ).get_json()
        seen += [m["id"] for m in page["items"]]
    assert sorted(seen) == sorted(m["id"] for m in first["messages"])
    by_contact = client.get("/messages?qj_contact_id=42", headers=AUTH).get_json()["items"]
    assert [m["to"] for m in by_contact] == ["c@example.com"]
    assert client.get("/messages?status=sent", headers=AUTH).get_json()["items"] == []
    assert client.get("/messages?status=nope", headers=AUTH).status_code == 400


def test_one_click_unsubscribe_suppresses_at_once_and_the_next_send_is_suppressed(
    app: Flask, client: FlaskClient
) -> None:
    item = _send(client, _body({"email": "ann@example.com", "metadata": {"qj_contact_id": 9}}))
    public_id = item.get_json()["messages"][0]["id"]
    token = unsubscribe_tokens.sign(public_id, [UNSUB_SECRET])
    page = client.get(f"/unsubscribe/{token}")
    assert page.status_code == 200
    assert "ann@example.com" in page.get_data(as_text=True)
    assert _count_suppressed(app) == 0  # a GET (a mail scanner) changes nothing
    for form in ({"data": "List-Unsubscribe=One-Click",
                  "content_type": "application/x-www-form-urlencoded"},
                 {"data": {"List-Unsubscribe": "One-Click"}}):  # fmt: skip
        answer = client.post(f"/unsubscribe/{token}", **form)  # type: ignore[arg-type]
        assert answer.status_code == 200
        assert "Set-Cookie" not in answer.headers
        assert "Location" not in answer.headers
    assert _count_suppressed(app) == 1
    shown = client.get(f"/messages/{public_id}", headers=AUTH).get_json()
    assert [(e["provider"], e["event_type"]) for e in shown["events"]] == [
        ("emailhook", "unsubscribed")
    ]
    assert shown["outcome"]["unsubscribed"] is not None
    again = _send(client, _body("ann@example.com")).get_json()["messages"][0]
    assert (again["status"], again["reason"]) == ("suppressed", "unsubscribe")
    contact = client.get("/contacts/9").get_json()
    assert "UNSUBSCRIBED" in json.dumps(contact)


@pytest.mark.parametrize("kind", ["forged", "foreign", "unknown message"])
def test_a_forged_or_foreign_unsubscribe_token_is_404_and_changes_nothing(
    app: Flask, client: FlaskClient, kind: str
) -> None:
    public_id = _send(client, _body()).get_json()["messages"][0]["id"]
    token = {
        "forged": f"{public_id}.AAAAAAAAAAAAAAAAAAAAAA",
        "foreign": unsubscribe_tokens.sign(public_id, ["someone-else"]),
        "unknown message": unsubscribe_tokens.sign("msg_unknown", [UNSUB_SECRET]),
    }[kind]
    assert client.post(f"/unsubscribe/{token}").status_code == 404
    assert client.get(f"/unsubscribe/{token}").status_code == 404
    assert _count_suppressed(app) == 0


def _count_suppressed(app: Flask) -> int:
    with app.extensions["emailhook"].database.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM suppression")).scalar_one())
