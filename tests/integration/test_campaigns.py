"""Campaigns through the real Flask app and database (SQLite and PostgreSQL): a JSON Lines
upload of thousands of recipients taken a chunk at a time, each address once, the
suppressed counted; a bad line refuses the whole upload by its number; a campaign paused
mid-way sends nothing more and, resumed, sends the rest exactly once (a ledger at a fake
Infobip); a cancelled one ends its queued messages cancelled; a rate paces the relay; a start
time holds every message until it."""

from __future__ import annotations

import io
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text

from emailhook.adapters.db.models import Campaign, Message, OutboxMessage
from emailhook.adapters.store import campaigns as campaign_rows
from emailhook.adapters.store import held, outbox
from emailhook.adapters.store.whole_messages import WholeMessages
from emailhook.domain.sending.guards import GuardRule
from emailhook.service.send.campaign_discard import discard_stale_uploads
from emailhook.service.send.campaign_guard import CampaignGuard
from emailhook.service.send.relay import SendRelay, SendRelayPolicy
from emailhook.settings import Settings
from support.clock import Clock
from support.fake_senders import FakeInfobipSender
from support.infobip_bodies import report, reports
from support.send_app import app_on, cleared, dispatch
from support.sent_messages import process

KEY = "campaign-key-1"
AUTH = {"Authorization": f"Bearer {KEY}"}
INFOBIP_KEY = "infobip-key-for-tests"
JSONL = "application/x-ndjson"
MESSAGE = {
    "from": "Cobranca <cobranca@example.com>",
    "subject": "Ola {{name}}",
    "text": "Sua fatura, {{name}}",
    "metadata": {"qj_approach_flow_campaign": "camp-9"},
}
TABLES = (
    "outbox",
    "message",
    "send_attempt",
    "campaign",
    "send_rate_bucket",
    "suppression",
    "suppression_evidence",
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
    )


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def shared_app(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    infobip: FakeInfobipSender,
) -> Iterator[Flask]:
    tmp_path = tmp_path_factory.mktemp("campaigns")
    with app_on(request.param, lambda url: _settings(tmp_path, url, infobip.url)) as made:
        yield made


@pytest.fixture
def app(shared_app: Flask, infobip: FakeInfobipSender) -> Flask:
    infobip.ledger.clear()
    return cleared(shared_app, TABLES)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _upload(*lines: Any) -> bytes:
    """JSON Lines: each item dumped, or a ``bytes`` line as it is."""
    return b"".join(
        (line if isinstance(line, bytes) else orjson.dumps(line)) + b"\n" for line in lines
    )


def _recipients(count: int, prefix: str = "r") -> list[dict[str, Any]]:
    return [
        {
            "email": f"{prefix}{n}@example.com",
            "name": f"Name {n}",
            "merge_data": {"name": f"Name {n}"},
            "metadata": {"qj_contact_id": 100_000 + n},
        }
        for n in range(count)
    ]


def _create(client: FlaskClient, body: bytes, content_type: str = JSONL) -> Any:
    return client.post("/campaigns", data=body, content_type=content_type, headers=AUTH)


def _count(app: Flask, model: Any, *where: Any) -> int:
    with app.extensions["emailhook"].database.sessions.begin() as session:
        stmt = select(func.count()).select_from(model).where(*where)
        return int(session.execute(stmt).scalar_one())


def _suppress(app: Flask, email: str, reason: str) -> None:
    """Put ``email`` on the list as the receive side would (its evidence)."""
    with app.extensions["emailhook"].database.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO suppression_evidence (email, reason, source, first_at, last_at)"
                " VALUES (:e, :r, 'emailhook', :t, :t)"
            ),
            {"e": email, "r": reason, "t": datetime.now(UTC).replace(tzinfo=None) - timedelta(1)},
        )


def _relay(
    app: Flask,
    published: list[list[str]],
    clock: Clock | None = None,
    claim_limit: int = 1000,
    window: int = 1000,
) -> SendRelay:
    return SendRelay(
        app.extensions["emailhook"].database.sessions,
        published.append,
        SendRelayPolicy(redelivery_seconds=60.0, claim_limit=claim_limit, window=window),
        {"infobip": 100},
        clock=clock or Clock(datetime.now(UTC)),
    )


def _send_all(app: Flask, relay: SendRelay, published: list[list[str]]) -> None:
    """Relay and dispatch until nothing more is published."""
    settings = app.extensions["emailhook"].settings
    while relay.run_once():
        while published:
            dispatch(settings, app, published.pop(0))


def test_a_campaign_of_thousands_is_accepted_each_address_once_the_suppressed_counted(
    app: Flask, client: FlaskClient
) -> None:
    recipients = _recipients(3000)
    _suppress(app, "r7@example.com", "hard_bounce")
    _suppress(app, "r2500@example.com", "complaint")
    # the same addresses again, across chunks and in another case: each is sent once
    again = [
        {"email": "R10@Example.com"},
        {"email": "r2999@example.com"},
        {"email": "r0@example.com"},
    ]
    answer = _create(client, _upload({**MESSAGE, "rate": 50}, *recipients, *again))
    assert answer.status_code == 202, answer.get_json()
    body = answer.get_json()
    assert body["id"].startswith("cmp_")
    assert body == {
        "id": body["id"],
        "state": "running",
        "recipients": 3000,
        "duplicates": 3,
        "suppressed": 2,
    }
    assert _count(app, OutboxMessage, OutboxMessage.campaign_id == body["id"]) == 3000
    assert _count(app, Message) == 3000
    shown = client.get(f"/campaigns/{body['id']}", headers=AUTH).get_json()
    assert shown["state"] == "running"
    assert shown["rate"] == 50
    assert shown["messages"]["queued"] == 2998
    assert shown["messages"]["suppressed"] == 2
    with app.extensions["emailhook"].database.sessions.begin() as session:
        row = session.execute(
            select(OutboxMessage).where(OutboxMessage.email == "r7@example.com")
        ).scalar_one()
        assert (row.state, row.reason, row.qj_contact_id) == ("suppressed", "hard_bounce", 100_007)
        # the row keeps the recipient's own part, the campaign its message once, unrendered
        assert "subject" not in row.document
        assert row.document["to"]["merge_data"] == {"name": "Name 7"}
        assert WholeMessages(session).document(row)["subject"] == "Ola Name 7"


def test_a_bad_line_refuses_the_campaign_naming_each_bad_line_and_keeps_nothing(
    app: Flask, client: FlaskClient
) -> None:
    recipients: list[Any] = _recipients(2500)
    recipients[1500] = {"email": "not an address"}  # line 1502: the message is line 1
    recipients[2200] = b'{"email": "cut@example.com"'  # line 2202
    recipients[2300] = {"email": "x@example.com", "colour": "blue"}  # line 2302
    answer = _create(client, _upload(MESSAGE, *recipients))
    assert answer.status_code == 400
    errors = answer.get_json()["errors"]
    assert set(errors) == {"line 1502.email", "line 2202", "line 2302.colour"}
    assert "not an e-mail address" in errors["line 1502.email"][0]
    assert "not JSON" in errors["line 2202"][0]
    for model in (Campaign, OutboxMessage, Message):
        assert _count(app, model) == 0


def test_a_bad_message_line_is_refused_by_its_field(client: FlaskClient) -> None:
    answer = _create(client, _upload({"from": "a@example.com", "rate": 0}, {"email": "b@x.com"}))
    assert answer.status_code == 400
    assert set(answer.get_json()["errors"]) == {"line 1.rate"}
    answer = _create(client, _upload({"from": "a@example.com"}, {"email": "b@x.com"}))
    assert set(answer.get_json()["errors"]) == {"line 1.subject", "line 1.text"}
    answer = _create(client, _upload({**MESSAGE, "to": ["b@x.com"]}, {"email": "b@x.com"}))
    assert set(answer.get_json()["errors"]) == {"line 1.to"}


def test_an_upload_that_is_not_json_lines_or_has_no_recipients_is_refused(
    client: FlaskClient,
) -> None:
    assert _create(client, _upload(MESSAGE), "application/json").status_code == 400
    answer = _create(client, _upload(MESSAGE))
    assert answer.status_code == 400
    assert answer.get_json()["errors"] == {"line 2": ["one recipient a line"]}
    assert _create(client, b"").status_code == 400


def test_campaigns_take_the_send_key(client: FlaskClient) -> None:
    answer = client.post("/campaigns", data=_upload(MESSAGE, {"email": "a@x.com"}))
    assert answer.status_code == 401
    assert client.post("/campaigns/cmp_x/pause").status_code == 401
    assert client.get("/campaigns/cmp_nope", headers=AUTH).status_code == 404


def test_a_paused_campaign_sends_nothing_more_and_resumed_sends_the_rest_exactly_once(
    app: Flask, client: FlaskClient, infobip: FakeInfobipSender
) -> None:
    _suppress(app, "r3@example.com", "hard_bounce")
    campaign = _create(client, _upload(MESSAGE, *_recipients(700))).get_json()["id"]
    published: list[list[str]] = []
    relay = _relay(app, published, claim_limit=200)
    settings = app.extensions["emailhook"].settings
    assert relay.run_once() == 200
    for task in published[:1]:  # one task sent; the other published, not yet taken
        dispatch(settings, app, task)
    assert len(infobip.ledger) == 100
    paused = client.post(
        f"/campaigns/{campaign}/pause", json={"reason": "complaints"}, headers=AUTH
    ).get_json()
    assert (paused["state"], paused["pause_reason"]) == ("paused", "complaints")
    dispatch(settings, app, published[1])  # taken after the pause: left queued
    published.clear()
    assert relay.run_once() == 0
    assert len(infobip.ledger) == 100
    assert paused["messages"]["sent"] == 100

    resumed = client.post(f"/campaigns/{campaign}/resume", headers=AUTH).get_json()
    assert (resumed["state"], resumed["pause_reason"]) == ("running", None)
    _send_all(app, relay, published)
    infobip.ledger.assert_once(
        "emailhook_id",
        expected=_ids(app, campaign, "sent"),
    )
    assert len(infobip.ledger) == 699
    done = client.get(f"/campaigns/{campaign}", headers=AUTH).get_json()
    assert done["state"] == "done"
    assert (done["messages"]["sent"], done["messages"]["suppressed"]) == (699, 1)


def test_a_cancelled_campaign_ends_its_queued_messages_cancelled(
    app: Flask, client: FlaskClient, infobip: FakeInfobipSender
) -> None:
    campaign = _create(client, _upload(MESSAGE, *_recipients(300))).get_json()["id"]
    published: list[list[str]] = []
    relay = _relay(app, published, claim_limit=100)
    assert relay.run_once() == 100
    dispatch(app.extensions["emailhook"].settings, app, published.pop())
    cancelled = client.post(f"/campaigns/{campaign}/cancel", headers=AUTH).get_json()
    assert cancelled["state"] == "cancelled"
    assert (cancelled["messages"]["sent"], cancelled["messages"]["cancelled"]) == (100, 200)
    _send_all(app, relay, published)
    assert len(infobip.ledger) == 100
    assert client.post(f"/campaigns/{campaign}/resume", headers=AUTH).status_code == 409
    assert client.post(f"/campaigns/{campaign}/cancel", headers=AUTH).status_code == 200


def test_a_campaigns_rate_paces_the_relay_and_leaves_other_messages_alone(
    app: Flask, client: FlaskClient
) -> None:
    slow = _create(client, _upload({**MESSAGE, "rate": 5}, *_recipients(40, "s"))).get_json()
    fast = _create(client, _upload(MESSAGE, *_recipients(40, "f"))).get_json()
    clock = Clock(datetime.now(UTC) + timedelta(seconds=1))
    published: list[list[str]] = []
    relay = _relay(app, published, clock=clock)
    assert relay.run_once() == 45  # the unpaced campaign whole, a second of the paced one
    assert relay.run_once() == 0
    clock.advance(1.0)
    assert relay.run_once() == 5
    clock.advance(0.4)
    assert relay.run_once() == 2
    assert _count(app, OutboxMessage, OutboxMessage.published_at.is_not(None)) == 52
    assert slow["id"] != fast["id"]


def test_a_campaign_with_a_start_time_sends_nothing_before_it_and_everyone_once_after(
    app: Flask, client: FlaskClient, infobip: FakeInfobipSender
) -> None:
    # a start a few seconds away: the workers' take reads the real clock, as in production;
    # the relay's own clock is set just before it, however long the upload took
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
    message = {**MESSAGE, "send_at": start.isoformat()}
    campaign = _create(client, _upload(message, *_recipients(250))).get_json()["id"]
    shown = client.get(f"/campaigns/{campaign}", headers=AUTH).get_json()
    assert (shown["messages"]["scheduled"], shown["messages"]["queued"]) == (250, 0)
    published: list[list[str]] = []
    assert _relay(app, published, clock=Clock(start - timedelta(seconds=1))).run_once() == 0
    assert published == []
    time.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds()) + 0.1)
    _send_all(app, _relay(app, published, clock=Clock(datetime.now(UTC))), published)
    infobip.ledger.assert_once("emailhook_id", expected=_ids(app, campaign, "sent"))
    assert len(infobip.ledger) == 250
    done = client.get(f"/campaigns/{campaign}", headers=AUTH).get_json()
    assert (done["state"], done["messages"]["sent"]) == ("done", 250)


def test_a_paused_campaigns_published_messages_hold_no_other_message_back(
    app: Flask, client: FlaskClient
) -> None:
    # the relay keeps a window of messages published and not taken; a paused campaign's
    # are left by the workers, and must not fill it for the redelivery bound
    campaign = _create(client, _upload(MESSAGE, *_recipients(150))).get_json()["id"]
    published: list[list[str]] = []
    clock = Clock(datetime.now(UTC) + timedelta(seconds=5))  # the message below is due too
    relay = _relay(app, published, clock=clock, window=100)
    assert relay.run_once() == 100
    assert client.post(f"/campaigns/{campaign}/pause", headers=AUTH).status_code == 200
    body = {"from": "shop@example.com", "subject": "Hi", "text": "Hello", "to": ["x@example.com"]}
    answer = client.post("/messages", json=body, headers=AUTH)
    assert answer.status_code == 202, answer.get_json()

    assert relay.run_once() == 1
    assert published[-1] == [answer.get_json()["messages"][0]["id"]]


def _ids(app: Flask, campaign: str, state: str) -> list[str]:
    with app.extensions["emailhook"].database.sessions.begin() as session:
        return list(
            session.execute(
                select(OutboxMessage.public_id).where(
                    OutboxMessage.campaign_id == campaign, OutboxMessage.state == state
                )
            ).scalars()
        )


def test_a_message_taken_before_a_cancel_is_still_settled_never_left_sending(
    app: Flask, client: FlaskClient, infobip: FakeInfobipSender
) -> None:
    campaign = _create(client, _upload(MESSAGE, *_recipients(5))).get_json()["id"]
    [taken] = _ids(app, campaign, "queued")[:1]
    now = datetime.now(UTC)
    with app.extensions["emailhook"].database.sessions.begin() as session:
        # a worker took it and died before its call: due again once its hold runs out
        held.take(session, [taken], now=now, hold_until=now)
    cancelled = client.post(f"/campaigns/{campaign}/cancel", headers=AUTH).get_json()
    assert (cancelled["messages"]["cancelled"], cancelled["messages"]["sending"]) == (4, 1)
    published: list[list[str]] = []
    _send_all(app, _relay(app, published), published)
    shown = client.get(f"/campaigns/{campaign}", headers=AUTH).get_json()
    assert (shown["messages"]["sent"], shown["messages"]["sending"]) == (1, 0)
    infobip.ledger.assert_once("emailhook_id", expected=[taken])


def test_an_upload_broken_off_keeps_nothing(app: Flask) -> None:
    def broken() -> Iterator[bytes]:
        yield orjson.dumps(MESSAGE)
        for recipient in _recipients(2500):
            yield orjson.dumps(recipient)
        raise OSError("the client went away")

    with pytest.raises(OSError, match="went away"):
        app.extensions["emailhook"].send.campaigns.create(broken())
    for model in (Campaign, OutboxMessage, Message):
        assert _count(app, model) == 0


def test_an_upload_waits_out_a_lock_held_longer_than_the_webs_one_second_bound(
    app: Flask, client: FlaskClient
) -> None:
    """A webhook's answer waits 1 s for the database at most; a campaign's chunk waits longer
    (``CHUNK_WAIT_SECONDS``): a refusal would discard a whole upload for one slow moment."""
    engine = app.extensions["emailhook"].database.engine
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        if engine.dialect.name == "sqlite":  # a writer that is not ours: an operator's shell
            raw = sqlite3.connect(engine.url.database, isolation_level=None)
            raw.execute("BEGIN IMMEDIATE")
            held.set()
            release.wait(10)
            raw.execute("ROLLBACK")
            raw.close()
            return
        with engine.connect() as conn, conn.begin():
            conn.exec_driver_sql("LOCK TABLE outbox IN SHARE MODE")
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(10)
    threading.Timer(2.5, release.set).start()
    began = time.monotonic()
    answer = _create(client, _upload(MESSAGE, *_recipients(2500)))
    holder.join()
    assert answer.status_code == 202, answer.get_json()
    assert time.monotonic() - began >= 2.0  # it did wait for the lock
    assert answer.get_json()["recipients"] == 2500


def test_an_upload_whose_process_died_is_never_sent_and_is_swept_once_stale(app: Flask) -> None:
    services = app.extensions["emailhook"]
    sessions, api = services.database.sessions, services.send.api
    now = datetime.now(UTC)
    with sessions.begin() as session:  # what a web process that died mid-upload left
        campaign_rows.create(
            session, "cmp_dead", provider="infobip", document=MESSAGE, rate=None, now=now
        )
        prepared = api.prepare({**MESSAGE, "to": _recipients(900)}, now)
        outbox.add(
            session, "cmp_dead", api.rows(session, prepared, now), now, campaign_id="cmp_dead"
        )
    published: list[list[str]] = []
    assert _relay(app, published).run_once() == 0
    assert discard_stale_uploads(sessions, timedelta(hours=1), lambda: now) == 0
    later = now + timedelta(hours=2)
    assert discard_stale_uploads(sessions, timedelta(hours=1), lambda: later) == 1
    for model in (Campaign, OutboxMessage, Message):
        assert _count(app, model) == 0


def test_an_idempotency_key_gives_the_same_campaign_again_and_sends_nothing_more(
    app: Flask, client: FlaskClient
) -> None:
    upload = _upload(MESSAGE, *_recipients(1500))
    key = {**AUTH, "Idempotency-Key": "firing-7"}
    first = client.post("/campaigns", data=upload, content_type=JSONL, headers=key)
    again = client.post("/campaigns", data=upload, content_type=JSONL, headers=key)
    assert first.status_code == again.status_code == 202
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _count(app, OutboxMessage) == 1500
    other = _upload(MESSAGE, *_recipients(1501))
    mismatch = client.post("/campaigns", data=other, content_type=JSONL, headers=key)
    assert mismatch.status_code == 422
    assert _count(app, Campaign) == 1


def test_a_refused_upload_leaves_its_idempotency_key_free(client: FlaskClient) -> None:
    key = {**AUTH, "Idempotency-Key": "firing-8"}
    bad = _upload(MESSAGE, {"email": "nope"})
    assert client.post("/campaigns", data=bad, content_type=JSONL, headers=key).status_code == 400
    good = _upload(MESSAGE, {"email": "yes@example.com"})
    answer = client.post("/campaigns", data=good, content_type=JSONL, headers=key)
    assert answer.status_code == 202
    assert "Idempotent-Replayed" not in answer.headers


def _tracking(kind: str, message_id: str, to: str) -> dict[str, Any]:
    """An Infobip tracking event (``seen_tracking_data_dict.json``'s shape) of one message."""
    return {
        "notificationType": kind,
        "eventId": f"{kind}-{message_id}",
        "messageId": message_id,
        "recipient": to,
        "sendDateTime": 1721152014966,
    }


def test_complaints_posted_back_past_the_threshold_pause_the_campaign_until_resumed(
    app: Flask, client: FlaskClient, infobip: FakeInfobipSender
) -> None:
    # quiet sends from another domain: the domain guard would pause it beside loud otherwise
    other = {**MESSAGE, "from": "news@other.example"}
    quiet = _create(client, _upload(other, *_recipients(300, prefix="q"))).get_json()["id"]
    loud = _create(client, _upload(MESSAGE, *_recipients(300))).get_json()["id"]
    published: list[list[str]] = []
    relay = _relay(app, published, claim_limit=400)
    settings = app.extensions["emailhook"].settings
    assert relay.run_once() == 400  # quiet's 300, then loud's first 100
    while published:
        dispatch(settings, app, published.pop(0))
    sent = {c: _ids(app, c, "sent") for c in (loud, quiet)}
    assert (len(sent[loud]), len(sent[quiet])) == (100, 300)
    # Infobip reports every sent message delivered, and 2 of loud's recipients complain
    # through the webhook: 2 % of its delivered messages, past the 0.3 % that pauses
    to = _addresses(app)
    delivered = [
        report(to[m], datetime.now(UTC), "DELIVERED", message_id=m)
        for m in sent[loud] + sent[quiet]
    ]
    complaints = [orjson.dumps(_tracking("COMPLAINED", m, to[m])) for m in sent[loud][:2]]
    process(app, [reports(*delivered), *complaints])
    guard = CampaignGuard(
        app.extensions["emailhook"].database.sessions,
        GuardRule(complaint_pause=0.003, min_delivered=100),
    )
    assert guard.run() == [loud]
    shown = client.get(f"/campaigns/{loud}", headers=AUTH).get_json()
    assert shown["state"] == "paused"
    assert shown["pause_reason"] == (
        "complaints 2.00 % of 100 delivered, past the 0.30 % that pauses a campaign"
    )
    guards = shown["guards"]  # its rates beside the thresholds (the settings' defaults)
    assert (guards["since"], guards["delivered"], guards["complaint_rate"]) == (None, 100, 0.02)
    assert (guards["hard_bounce_rate"], guards["complaint_pause"]) == (0.0, 0.003)
    assert client.get(f"/campaigns/{quiet}", headers=AUTH).get_json()["state"] == "done"
    # nothing more of loud is sent until an operator resumes it
    _send_all(app, relay, published)
    assert len(infobip.ledger) == 400
    assert guard.run() == []  # a paused campaign is judged no more
    client.post(f"/campaigns/{loud}/resume", headers=AUTH)
    assert guard.run() == []  # the resume acknowledged those complaints: not paused again
    _send_all(app, relay, published)
    assert len(_ids(app, loud, "sent")) == 300
    infobip.ledger.assert_once("emailhook_id", expected=_ids(app, loud, "sent") + sent[quiet])


def _addresses(app: Flask) -> dict[str, str]:
    with app.extensions["emailhook"].database.sessions.begin() as session:
        return dict(session.execute(select(OutboxMessage.public_id, OutboxMessage.email)).all())


def _multipart(
    client: FlaskClient,
    message: dict[str, Any],
    recipients: bytes,
    filename: str = "recipients.csv",
    headers: dict[str, str] | None = None,
) -> Any:
    """``POST /campaigns`` as ``curl -F message=<json -F recipients=@file`` sends it."""
    return client.post(
        "/campaigns",
        data={
            "message": (io.BytesIO(orjson.dumps(message)), "message.json", "application/json"),
            "recipients": (io.BytesIO(recipients), filename),
        },
        content_type="multipart/form-data",
        headers={**AUTH, **(headers or {})},
    )


def test_a_csv_upload_is_a_campaign_whose_metadata_columns_reach_the_providers_callback_data(
    app: Flask, client: FlaskClient, infobip: FakeInfobipSender
) -> None:
    _suppress(app, "bia@example.com", "hard_bounce")
    csv_file = (
        "\ufeffemail,name,fatura,metadata.qj_contact_id\r\n"
        'ana@example.com,Ana,"R$ 1.234,56",101\r\n'
        'bia@example.com,"Bia ""B""",R$ 2,102\r\n'
        "ANA@example.com,Ana de novo,R$ 3,103\r\n"
        'caio@example.com,Caio,=HYPERLINK("x"),\r\n'
    ).encode()
    message = {
        **MESSAGE,
        "text": "Ola {{name}}, fatura {{fatura}}",
        "metadata": {"qj_firing_id": 7},
    }
    answer = _multipart(client, message, csv_file)
    assert answer.status_code == 202, answer.get_json()
    body = answer.get_json()
    assert (body["recipients"], body["duplicates"], body["suppressed"]) == (3, 1, 1)
    published: list[list[str]] = []
    _send_all(app, _relay(app, published), published)
    sent = {row.recipient: row for row in infobip.ledger}
    assert set(sent) == {"ana@example.com", "caio@example.com"}
    assert sent["ana@example.com"].echo["qj_contact_id"] == "101"  # stored as given: text
    assert sent["ana@example.com"].echo["qj_firing_id"] == 7
    assert "qj_contact_id" not in sent["caio@example.com"].echo  # an empty cell: no key
    with app.extensions["emailhook"].database.sessions.begin() as session:
        rows = {
            row.email: row
            for row in session.execute(
                select(OutboxMessage).where(OutboxMessage.campaign_id == body["id"])
            ).scalars()
        }
        assert rows["ana@example.com"].qj_contact_id == 101
        assert rows["bia@example.com"].document["to"]["name"] == 'Bia "B"'
    # each rendered from its own row's merge data when sent
    assert _sent_content(infobip, sent["ana@example.com"])["text"] == "Ola Ana, fatura R$ 1.234,56"
    caio = _sent_content(infobip, sent["caio@example.com"])
    assert caio["text"] == 'Ola Caio, fatura =HYPERLINK("x")'
    with app.extensions["emailhook"].database.sessions.begin() as session:
        contact = session.execute(
            select(Message.qj_contact_id).where(Message.email == "bia@example.com")
        ).scalar_one()
        assert contact == 102


def test_a_bad_csv_row_refuses_the_upload_naming_each_row_and_keeps_nothing(
    app: Flask, client: FlaskClient
) -> None:
    good = "".join(f"r{n}@example.com,N{n}\n" for n in range(1500))
    csv_file = f"email,name\n{good}not an address,X\nlast@example.com,L,extra\n".encode()
    answer = _multipart(client, MESSAGE, csv_file)
    assert answer.status_code == 400
    errors = answer.get_json()["errors"]
    assert set(errors) == {"row 1502.email", "row 1503"}
    assert errors["row 1503"] == ["3 cells; the header has 2"]
    for model in (Campaign, OutboxMessage, Message):
        assert _count(app, model) == 0
    answer = _multipart(client, {**MESSAGE, "subject": None}, b"name\nA\n")
    assert set(answer.get_json()["errors"]) == {"message.subject"}
    answer = _multipart(client, MESSAGE, b"name\nA\n")
    assert answer.get_json()["errors"] == {"row 1": ["no email column"]}


def test_a_multipart_upload_takes_json_lines_recipients_and_an_idempotency_key(
    app: Flask, client: FlaskClient
) -> None:
    lines = _upload(*_recipients(1200))
    key = {"Idempotency-Key": "firing-9"}
    first = _multipart(client, MESSAGE, lines, "recipients.jsonl", key)
    again = _multipart(client, MESSAGE, lines, "recipients.jsonl", key)
    assert first.status_code == again.status_code == 202
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _count(app, OutboxMessage) == 1200
    other = _multipart(client, MESSAGE, b"email\nr1@example.com\n", "r.csv", key)
    assert other.status_code == 422


def test_a_multipart_upload_without_its_parts_in_order_or_of_an_unknown_kind_is_refused(
    client: FlaskClient,
) -> None:
    answer = client.post(
        "/campaigns",
        data={"recipients": (io.BytesIO(b"email\na@x.com\n"), "r.csv")},
        content_type="multipart/form-data",
        headers=AUTH,
    )
    assert answer.status_code == 400
    assert "not 'message'" in answer.get_json()["errors"][""][0]
    answer = _multipart(client, MESSAGE, b"email\na@x.com\n", "recipients.xlsx")
    assert answer.status_code == 400
    assert "neither CSV" in answer.get_json()["errors"][""][0]


def _sent_content(infobip: FakeInfobipSender, accepted: Any) -> dict[str, Any]:
    """Return the ``content`` of the message the fake Infobip accepted for ``accepted``."""
    body = orjson.loads(infobip.requests[accepted.request].body)
    for message in body["messages"]:
        for destination in message["destinations"]:
            if any(t["messageId"] == accepted.provider_id for t in destination["to"]):
                content: dict[str, Any] = message["content"]
                return content
    raise AssertionError(f"no message for {accepted.recipient}")
