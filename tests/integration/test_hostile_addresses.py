"""Hostile recipients through every provider's path: answered 200, kept raw and counted,
never stored as an event, contact state or a suppression; valid ones stored as before."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from flask import Flask
from sqlalchemy import func, select

from emailhook import create_app
from emailhook.adapters.db.models import (
    ContactEmailState,
    EmailCallback,
    InboxBody,
    SuppressedAddress,
)
from emailhook.composition.processing import parsers
from emailhook.domain.addresses import is_address
from emailhook.domain.inbox import BodyState
from emailhook.domain.recipients import NOT_AN_ADDRESS
from emailhook.service.receive.processing import Processor
from emailhook.settings import Settings
from support.policies import retry, soft_bounces
from support.provider_posts import PROVIDER_NAMES, Senders
from support.services import fresh_postgres_database
from support.signing import LocalServer, local_server, sample
from support.spool import post_bodies

#: the issue's addresses that are none (#28), each of which was once stored and suppressed
HOSTILE = [
    "@",
    "nobody@",
    "a@@b",
    "a b@c d",
    "x" * 5000,
    "a" * 4990 + "@x.example",
    "a\nINJECTED LINE@x.example",
    "evil\u202e@x.example",
    "moc.elpmaxe@\u202eevil",
    '=hyperlink("http://evil.example","x")@evil.example',
    "@sum(1+1)@evil.example",
    "a\r\n@x.example",
]
#: valid addresses that a spreadsheet would evaluate: stored (the CSV neutralizes them)
VALID_BUT_FORMULA = ["+cmd@evil.example", "-2+3@evil.example"]
#: valid addresses stored as before: lower-cased, internationalized ones kept in Unicode
VALID = {
    "User+Tag@Example.COM": "user+tag@example.com",
    "Joao.Madero@Quite.com.br": "joao.madero@quite.com.br",
    "ñandú@exämple.com": "ñandú@exämple.com",
    "用户@例子.广告": "用户@例子.广告",
    **{a: a for a in VALID_BUT_FORMULA},
}

#: (provider, sample, the recipient replaced, events of the sample, events left to store)
PROVIDER_CASES = [
    ("amazon_ses", "multiple_bounce_event", "jane@example.com", 2, 1),
    ("sendgrid", "variant_processed_custom_args", "recipient@example.com", 1, 0),
    ("mailgun", "variant_opened_with_id_and_contact", "recipient@example.com", 1, 0),
    ("postmark", "variant_soft_bounce", "soft@example.com", 1, 0),
    ("resend", "sent_event", "to@example.org", 2, 1),
    ("sparkpost", "variant_rcpt_meta_contact", "full@example.com", 2, 1),
    ("mailjet", "variant_preblocked_and_contact", "gone@example.com", 2, 1),
    ("mandrill", "variant_reject_and_contact", "bounced@example.com", 2, 1),
    ("brevo", "variant_batch", "unsub@example.com", 2, 1),
    ("postal", "failed_event", "failed@example.com", 1, 0),
    ("mailersend", "soft_bounced_event", "notauser@example.com", 1, 0),
    ("unisender_go", "multiple_event_option", "cc@example.com", 2, 1),
]


def test_every_provider_has_a_case() -> None:
    assert sorted(p for p, *_ in PROVIDER_CASES) == sorted(PROVIDER_NAMES)


def _replaced(value: Any, address: str, by: str) -> Any:
    """Return ``value`` with every occurrence of ``address`` (as a whole) replaced by ``by``."""
    pattern = re.compile(r"(?<![\w.+-])" + re.escape(address) + r"(?![\w-])", re.IGNORECASE)
    if isinstance(value, str):
        return pattern.sub(lambda _: by, value)
    if isinstance(value, list):
        return [_replaced(item, address, by) for item in value]
    if isinstance(value, dict):
        return {key: _replaced(item, address, by) for key, item in value.items()}
    return value


@pytest.fixture(scope="module")
def sns_server() -> Iterator[LocalServer]:
    with local_server() as server:
        yield server


@pytest.fixture(scope="module")
def senders(sns_server: LocalServer) -> Senders:
    made = Senders(sns_server.base_url)
    sns_server.routes.update(made.routes())
    return made


def _rows(app: Flask, model: Any) -> list[Any]:
    with app.extensions["emailhook"].database.sessions() as session:
        rows = list(session.execute(select(model)).scalars())
        session.expunge_all()
        return rows


def _nothing_stored_but_addresses(app: Flask) -> None:
    for model in (EmailCallback, ContactEmailState, SuppressedAddress):
        for row in _rows(app, model):
            assert row.email is None or is_address(row.email), (model, row.email[:40])


@pytest.mark.parametrize(
    ("provider", "name", "recipient", "events", "left"),
    PROVIDER_CASES,
    ids=[case[0] for case in PROVIDER_CASES],
)
def test_a_provider_event_whose_recipient_is_no_address_is_counted_not_stored(
    tmp_path: Path,
    senders: Senders,
    provider: str,
    name: str,
    recipient: str,
    events: int,
    left: int,
) -> None:
    settings = {"data_dir": tmp_path, "sqlite_synchronous": "NORMAL", "intake": "database"}
    settings.update(senders.settings())
    app = create_app(Settings(**settings))
    processor = Processor(
        app.extensions["emailhook"].database.sessions,
        retry(),
        soft_bounces=soft_bounces(),
        parsers=parsers(app.extensions["emailhook"].settings),
    )
    client = app.test_client()
    original = sample(provider, name)
    assert recipient in orjson.dumps(original).decode().lower()
    aside = events - left
    try:
        for hostile in HOSTILE:
            data = _replaced(copy.deepcopy(original), recipient, hostile)
            post = senders.post(provider, name, data=data)
            answer = client.post(post.path, data=post.body, headers=post.headers)
            assert answer.status_code == 200, (hostile[:20], answer.get_json())
            body_id = int(answer.get_json()["id"])
            outcome = processor.process([body_id])
            assert outcome.done == [body_id]
            assert outcome.other_channels == {NOT_AN_ADDRESS: aside}, hostile[:20]
            body = next(b for b in _rows(app, InboxBody) if b.id == body_id)
            assert body.other_items == aside
            expected_state = BodyState.DONE if left else BodyState.OTHER_CHANNEL
            assert body.state == expected_state
        with app.extensions["emailhook"].database.sessions() as session:
            stored = session.execute(select(func.count(EmailCallback.id))).scalar_one()
        assert stored == left  # the valid events of the batch, once
        _nothing_stored_but_addresses(app)
        counts = app.extensions["emailhook"].operations.backlog().bodies
        assert counts["other_channel_items"] == aside * len(HOSTILE)
    finally:
        app.extensions["emailhook"].database.engine.dispose()
        app.extensions["emailhook"].reads.engine.dispose()


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


def _hard_bounce(template: dict[str, Any], index: int, to: str) -> dict[str, Any]:
    return {
        **template,
        "to": to,
        "messageId": f"hostile-{index}",
        "status": {"groupId": 5, "groupName": "UNDELIVERABLE", "id": 5, "name": "REJECTED"},
        "error": {"id": 6009, "name": "NO_SUCH_USER", "permanent": True},
    }


def test_infobip_reports_and_tracking_to_no_address_are_kept_raw_and_counted(
    app: Flask, load_seed: Any
) -> None:
    template = load_seed("delivered_dict")["results"][0]
    valid = [_hard_bounce(template, 1000 + i, text) for i, text in enumerate(VALID)]
    hostile = [_hard_bounce(template, i, text) for i, text in enumerate(HOSTILE)]
    # one batch: the hostile reports among valid ones; the valid ones are stored
    batch = {"results": [*hostile[:3], *valid, *hostile[3:]]}
    tracking = [
        {
            "notificationType": "COMPLAINED",
            "recipient": text,
            "messageId": f"t-{i}",
            "eventId": f"e{i}",
        }
        for i, text in enumerate(HOSTILE)
    ]
    bodies = [orjson.dumps(batch), *(orjson.dumps(t) for t in tracking)]
    ids, outcome = _process(app, bodies)

    assert outcome.other_channels == {NOT_AN_ADDRESS: 2 * len(HOSTILE)}
    events = _rows(app, EmailCallback)
    assert sorted(e.email for e in events) == sorted(VALID.values())
    _nothing_stored_but_addresses(app)
    assert {s.email for s in _rows(app, SuppressedAddress)} == set(VALID.values())

    bodies_by_id = {b.id: b for b in _rows(app, InboxBody)}
    first = bodies_by_id[ids[0]]
    assert (first.state, first.stored_events, first.other_items) == (
        BodyState.DONE,
        len(VALID),
        len(HOSTILE),
    )
    for body_id in ids[1:]:  # kept raw, in a state an operator lists
        body = bodies_by_id[body_id]
        assert (body.state, body.stored_events, body.other_items) == (BodyState.OTHER_CHANNEL, 0, 1)
    operations = app.extensions["emailhook"].operations
    counts = operations.backlog().bodies
    assert counts["other_channel"] == len(HOSTILE)
    assert counts["other_channel_items"] == 2 * len(HOSTILE)
    listed = operations.list_bodies([BodyState.OTHER_CHANNEL], 50)
    assert sorted(b.id for b in listed) == sorted(ids[1:])
    page = app.test_client().get("/dashboard/pipeline").get_data(as_text=True)
    assert 'data-count="other_channel"' in page
