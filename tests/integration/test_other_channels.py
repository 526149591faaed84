"""Every Infobip body through the real web app and the Processor: only e-mail is e-mail."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from flask import Flask
from sqlalchemy import select

from emailhook import create_app
from emailhook.adapters.db.models import (
    ContactEmailState,
    EmailCallback,
    InboxBody,
    SuppressedAddress,
)
from emailhook.domain.inbox import BodyState
from emailhook.providers.infobip.channels import looks_like_phone
from emailhook.service.receive.processing import Processor
from emailhook.settings import Settings
from support.policies import retry, soft_bounces
from support.services import fresh_postgres_database
from support.spool import post_bodies

INFOBIP = Path(__file__).resolve().parents[1] / "data" / "infobip"
#: bodies of other channels than e-mail: nothing of them may be stored as an e-mail event
OTHER_CHANNEL_BODIES = {
    "sms_dlr_v2_webhook.json": {"SMS": 2},
    "whatsapp_dlr_webhook.json": {"WHATSAPP": 1},
    "whatsapp_seen_report_webhook.json": {"WHATSAPP_SEEN": 1},
    "sms_click_tracking_webhook.json": {"SMS_CLICK": 1},
    "blocklists_get_response.json": {"MESSAGES_API": 3},
}


@pytest.fixture(params=["sqlite", "postgres"])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    if request.param == "sqlite":
        yield create_app(Settings(data_dir=tmp_path))
        return
    with fresh_postgres_database(migrated=True) as url:
        made = create_app(Settings(data_dir=tmp_path, database_url=url))
        yield made
        made.extensions["emailhook"].database.engine.dispose()
        made.extensions["emailhook"].reads.engine.dispose()


def _process(app: Flask, bodies: list[bytes]) -> tuple[list[int], Any]:
    ids = post_bodies(app, bodies)  # asserts 200 for each
    processor = Processor(
        app.extensions["emailhook"].database.sessions, retry(), soft_bounces=soft_bounces()
    )
    return ids, processor.process(ids)


def _rows(app: Flask, model: Any) -> list[Any]:
    with app.extensions["emailhook"].database.sessions() as session:
        rows = list(session.execute(select(model)).scalars())
        session.expunge_all()
        return rows


def test_every_infobip_sample_body_gets_200_and_no_other_channel_item_is_stored(
    app: Flask,
) -> None:
    names = sorted(p.name for p in INFOBIP.glob("*.json"))
    assert len(names) == 12
    ids, outcome = _process(app, [(INFOBIP / name).read_bytes() for name in names])
    by_name = dict(zip(names, ids, strict=True))

    events = _rows(app, EmailCallback)
    assert not any(looks_like_phone(e.email) for e in events)
    assert not {e.inbox_id for e in events} & {by_name[n] for n in OTHER_CHANNEL_BODIES}
    # the e-mail ones are stored: the v1 log and report answers, the e-mail blocklist BLOCK
    assert {e.email for e in events if e.email} == {
        "recipient@infobip.com",
        "recipient@example.com",
    }
    assert not any(looks_like_phone(s.email) for s in _rows(app, ContactEmailState))
    assert {s.email for s in _rows(app, SuppressedAddress)} == {"recipient@example.com"}

    bodies = {b.id: b for b in _rows(app, InboxBody)}
    for name, channels in OTHER_CHANNEL_BODIES.items():
        body = bodies[by_name[name]]
        assert (body.state, body.stored_events, body.other_items) == (
            BodyState.OTHER_CHANNEL,
            0,
            sum(channels.values()),
        ), name
    expected: dict[str, int] = {}
    for channels in OTHER_CHANNEL_BODIES.values():
        for channel, n in channels.items():
            expected[channel] = expected.get(channel, 0) + n
    assert dict(outcome.other_channels) == expected

    backlog = app.extensions["emailhook"].operations.backlog().bodies
    assert backlog["other_channel"] == len(OTHER_CHANNEL_BODIES)
    assert backlog["other_channel_items"] == sum(expected.values())
    listed = app.extensions["emailhook"].operations.list_bodies([BodyState.OTHER_CHANNEL], 50)
    assert sorted(b.id for b in listed) == sorted(by_name[n] for n in OTHER_CHANNEL_BODIES)
    client = app.test_client()
    page = client.get("/dashboard/pipeline").get_data(as_text=True)
    assert 'data-count="other_channel"' in page
    # the BLOCK event is an event like the others on every page
    for url in ("/", "/dashboard/events?status=BLOCK", "/dashboard/campaigns"):
        assert client.get(url).status_code == 200, url
    assert client.get("/email-callbacks?status=BLOCK").json["items"][0]["status"] == "BLOCK"  # type: ignore[index]


def test_a_mixed_batch_stores_its_email_items_and_counts_the_others(
    app: Flask, load_seed: Any
) -> None:
    email = load_seed("delivered_dict")["results"]
    sms = orjson.loads((INFOBIP / "sms_dlr_v2_webhook.json").read_bytes())["results"]
    whatsapp = orjson.loads((INFOBIP / "whatsapp_dlr_webhook.json").read_bytes())["results"]
    mixed = {"results": [sms[0], *copy.deepcopy(email), *whatsapp, sms[1]]}
    [body_id], outcome = _process(app, [orjson.dumps(mixed)])
    events = _rows(app, EmailCallback)
    assert sorted(e.email for e in events) == sorted(str(i["to"]).lower() for i in email)
    assert dict(outcome.other_channels) == {"SMS": 2, "WHATSAPP": 1}
    [body] = [b for b in _rows(app, InboxBody) if b.id == body_id]
    assert (body.state, body.stored_events, body.other_items) == (
        BodyState.DONE,
        len(email),
        3,
    )
