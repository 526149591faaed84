"""A database filled before issue 28 (events whose recipient is not an address, in contact
state and on the suppression list) is cleaned by ``emailhook state rebuild``: the events stay,
flagged, and nothing derived counts them. Text output shows them escaped, one line each."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
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
    FlaggedEvent,
    SuppressedAddress,
    SuppressionEvidence,
)
from emailhook.adapters.store import contact_state
from emailhook.adapters.store.events import insert_events
from emailhook.domain.addresses import is_address
from emailhook.domain.inbox import Provenance
from emailhook.providers.infobip.parsing import parse_body
from emailhook.service.receive.processing import Processor
from emailhook.settings import Settings
from support.policies import retry, soft_bounces
from support.services import fresh_postgres_database
from support.spool import post_bodies

HOSTILE = [
    "@",
    "a b@c d",
    "a\nINJECTED LINE@x.example",
    "evil\u202e@x.example",
    "@sum(1+1)@evil.example",
    "\x1b[2Jwipe@x.example",
]
VALID = ["joao.madero@quite.com.br", "+cmd@evil.example"]
AT = datetime(2026, 1, 2, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def setup(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Flask, dict[str, str]]]:
    env = {"EMAILHOOK_DATA_DIR": str(tmp_path)}
    if request.param == "sqlite":
        yield create_app(Settings(data_dir=tmp_path)), env
        return
    with fresh_postgres_database(migrated=True) as url:
        made = create_app(Settings(data_dir=tmp_path, database_url=url))
        yield made, {**env, "EMAILHOOK_DATABASE_URL": url}
        made.extensions["emailhook"].database.engine.dispose()
        made.extensions["emailhook"].reads.engine.dispose()


def _report(template: dict[str, Any], index: int, to: str) -> dict[str, Any]:
    return {
        **template,
        "to": to,
        "messageId": f"old-{index}",
        "status": {"groupId": 5, "groupName": "UNDELIVERABLE", "id": 5, "name": "REJECTED"},
        "error": {"id": 6009, "name": "NO_SUCH_USER", "permanent": True},
    }


def _stored_as_before_the_fix(app: Flask, template: dict[str, Any]) -> None:
    """Store hostile reports as the worker did before issue 28: event, state, suppression."""
    valid = parse_body({"results": [_report(template, 0, "kept@example.com")]}).events[0]
    events = [
        dataclasses.replace(valid, event_key=f"old:{i}", email=to.lower(), message_id=f"old-{i}")
        for i, to in enumerate(HOSTILE)
    ]
    with app.extensions["emailhook"].database.sessions.begin() as session:
        stored = insert_events(session, [(e, Provenance(0, AT)) for e in events])
        contact_state.record(session, [s.observation() for s in stored], soft_bounces())
        # Infobip's list imported with an entry that names no address
        session.add(
            SuppressionEvidence(
                email="=cmd(", reason="hard_bounce", source="infobip", first_at=AT, last_at=AT
            )
        )


@dataclasses.dataclass(frozen=True)
class _Ran:
    output: str


def _emailhook(env: dict[str, str], *args: str) -> _Ran:
    """Run the real command in its own process, as an operator does."""
    done = subprocess.run(
        [sys.executable, "-m", "emailhook", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return _Ran(done.stdout)


def _rows(app: Flask, model: Any) -> list[Any]:
    with app.extensions["emailhook"].database.sessions() as session:
        rows = list(session.execute(select(model)).scalars())
        session.expunge_all()
        return rows


def test_state_rebuild_flags_them_and_takes_them_out_of_state_and_suppressions(
    setup: tuple[Flask, dict[str, str]], load_seed: Any
) -> None:
    app, env = setup
    template = load_seed("delivered_dict")["results"][0]
    batch = {"results": [_report(template, 100 + i, to) for i, to in enumerate(VALID)]}
    ids = post_bodies(app, [orjson.dumps(batch)])
    Processor(
        app.extensions["emailhook"].database.sessions, retry(), soft_bounces=soft_bounces()
    ).process(ids)
    _stored_as_before_the_fix(app, template)
    assert len({s.email for s in _rows(app, SuppressedAddress)}) == len(VALID + HOSTILE)

    listed = _emailhook(env, "events", "--limit", "50")
    lines = listed.output.splitlines()
    assert len(lines) == 1 + len(VALID + HOSTILE)  # the header, then one line per event
    assert not any(line.startswith("injected") for line in lines)
    assert "a\\ninjected line@x.example" in listed.output  # stored lower-cased, as then
    assert "evil\\u202e@x.example" in listed.output
    assert "\\x1b[2jwipe@x.example" in listed.output
    assert "\x1b" not in listed.output
    assert "\u202e" not in listed.output

    rebuilt = _emailhook(env, "state", "rebuild")
    assert f"{len(HOSTILE)} events flagged" in rebuilt.output

    events = _rows(app, EmailCallback)
    assert len(events) == len(VALID + HOSTILE)  # the events stay
    hostile_ids = {e.id for e in events if not is_address(e.email)}
    assert len(hostile_ids) == len(HOSTILE)
    assert {f.event_id for f in _rows(app, FlaggedEvent)} == hostile_ids
    assert {f.flag for f in _rows(app, FlaggedEvent)} == {"not_an_address"}
    assert {s.email for s in _rows(app, SuppressedAddress)} == set(VALID)
    assert {s.email for s in _rows(app, ContactEmailState)} == set(VALID)
    assert {s.email for s in _rows(app, SuppressionEvidence)} == set(VALID)

    _emailhook(env, "state", "rebuild")  # again: nothing new
    assert len(_rows(app, FlaggedEvent)) == len(HOSTILE)
