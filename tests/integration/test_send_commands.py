"""``emailhook send`` and ``emailhook outbox`` against a real database (SQLite and PostgreSQL):
the same service as ``POST /messages`` (suppression list, outbox, Idempotency-Key, each
field's error), and the outbox's counts, pages and lifecycle as the send path leaves them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner, Result
from flask import Flask
from sqlalchemy import text

from emailhook import create_app
from emailhook.entrypoints.cli.main import main
from emailhook.settings import Settings
from support.fake_senders import FakeInfobipSender
from support.sent_messages import (
    INFOBIP_KEY,
    dispatch,
    report_delivered,
    send_settings,
    suppress_hard_bounce,
)
from support.services import fresh_postgres_database

MESSAGE_LINE = re.compile(r"^(msg_\w+)  (\w+) +(\S+)(?:  (.*))?$", re.M)


@dataclass
class Setup:
    app: Flask
    env: dict[str, str]
    infobip: FakeInfobipSender

    def run(self, *args: str) -> Result:
        return CliRunner().invoke(main, list(args), env=self.env)

    def ok(self, *args: str) -> str:
        result = self.run(*args)
        assert result.exit_code == 0, result.output
        return result.stdout

    def count(self, sql: str) -> int:
        with self.app.extensions["emailhook"].database.engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar_one())


@pytest.fixture(scope="module")
def infobip() -> Iterator[FakeInfobipSender]:
    with FakeInfobipSender(api_key=INFOBIP_KEY) as fake:
        yield fake


def _infobip(fake: FakeInfobipSender) -> dict[str, Any]:
    return {"infobip_base_url": fake.url, "infobip_api_key": INFOBIP_KEY}


@pytest.fixture(params=["sqlite", "postgres"])
def setup(
    request: pytest.FixtureRequest, tmp_path: Path, infobip: FakeInfobipSender
) -> Iterator[Setup]:
    env = {"EMAILHOOK_DATA_DIR": str(tmp_path), **send_settings(infobip)}
    if request.param == "sqlite":
        app = create_app(Settings(data_dir=tmp_path, **_infobip(infobip)))
        yield Setup(app, env, infobip)
        return
    with fresh_postgres_database(migrated=True) as url:
        app = create_app(Settings(data_dir=tmp_path, database_url=url, **_infobip(infobip)))
        yield Setup(app, {**env, "EMAILHOOK_DATABASE_URL": url}, infobip)
        app.extensions["emailhook"].database.engine.dispose()
        app.extensions["emailhook"].reads.engine.dispose()


SEND = ["send", "--from", "Cobranca <cobranca@example.com>", "--subject", "Fatura"]


def test_send_commits_each_recipient_suppressed_ones_answered_with_their_reason(
    setup: Setup,
) -> None:
    suppress_hard_bounce(setup.app, "gone@example.com")
    out = setup.ok(
        *SEND,
        *("--to", "ana@example.com", "--to", "Bia <BIA@example.com>", "--to", "gone@example.com"),
        *("--text", "Sua fatura", "--metadata", "qj_contact_id=101", "--metadata", "campaign=c9"),
    )
    batch = re.search(r"^batch (bat_\w+)$", out, re.M)
    assert batch is not None, out
    lines = MESSAGE_LINE.findall(out)
    assert [(to, status, reason) for _, status, to, reason in lines] == [
        ("ana@example.com", "queued", ""),
        ("bia@example.com", "queued", ""),
        ("gone@example.com", "suppressed", "hard_bounce"),
    ]
    assert setup.count(f"SELECT count(*) FROM outbox WHERE batch_id = '{batch[1]}'") == 3
    assert setup.count("SELECT count(*) FROM outbox WHERE qj_contact_id = 101") == 3
    before = len(setup.infobip.ledger)
    dispatch(setup.app, [lines[0][0], lines[1][0]])
    new = list(setup.infobip.ledger)[before:]
    assert sorted(row.recipient for row in new) == ["ana@example.com", "bia@example.com"]
    assert {row.echo["qj_contact_id"] for row in new} == {"101"}


def test_json_and_scheduling_answer_as_post_messages_does(setup: Setup) -> None:
    later = ["--send-at", "2099-01-01T00:00:00Z", "--category", "transactional"]
    out = setup.ok(*SEND, "--to", "ana@example.com", "--html", "<p>oi</p>", *later, "--json")
    answer = orjson.loads(out)
    assert answer["batch_id"].startswith("bat_")
    (message,) = answer["messages"]
    assert message["status"] == "scheduled"
    assert message["send_at"] == "2099-01-01T00:00:00+00:00"
    shown = orjson.loads(setup.ok("outbox", "show", message["id"], "--json"))
    assert shown["category"] == "transactional"
    assert shown["status"] == "scheduled"


def test_a_bad_request_prints_each_fields_error_exits_1_and_keeps_nothing(setup: Setup) -> None:
    result = setup.run(
        "send",
        "--from",
        "nobody",
        "--to",
        "ana@example.com",
        "--to",
        "not-one",
        "--provider",
        "postal",
        "--send-at",
        "tomorrow",
    )
    assert result.exit_code == 1
    for field in ("from", "subject", "text", "to[1].email", "provider", "send_at"):
        assert re.search(rf"^  {re.escape(field)}: ", result.output, re.M), (field, result.output)
    assert setup.count("SELECT count(*) FROM outbox") == 0
    usage = setup.run(
        "send", "--from", "a@example.com", "--to", "b@example.com", "--metadata", "no-equals"
    )
    assert usage.exit_code == 2
    assert "is not key=value" in usage.output


def test_the_same_idempotency_key_gives_the_same_answer_and_keeps_nothing_more(
    setup: Setup,
) -> None:
    args = [*SEND, "--to", "ana@example.com", "--text", "oi", "--idempotency-key", "order-42"]
    first = setup.run(*args)
    again = setup.run(*args)
    assert first.exit_code == again.exit_code == 0, again.output
    assert first.stdout == again.stdout
    assert "nothing more sent" in again.stderr
    assert setup.count("SELECT count(*) FROM outbox") == 1
    other = setup.run(*[a if a != "oi" else "tchau" for a in args])
    assert other.exit_code == 1
    assert "another request body" in other.output
    assert setup.count("SELECT count(*) FROM outbox") == 1


def _ids(out: str) -> list[str]:
    return re.findall(r"^(msg_\w+)", out, re.M)


def test_outbox_counts_every_state_and_lists_a_page_at_a_time(setup: Setup) -> None:
    suppress_hard_bounce(setup.app, "gone@example.com")
    recipients = [f"r{n}@example.com" for n in range(5)]
    out = setup.ok(*SEND, "--text", "x", *(a for r in recipients for a in ("--to", r)))
    batch = re.search(r"^batch (bat_\w+)$", out, re.M)[1]  # type: ignore[index]
    setup.ok(*SEND, "--text", "x", "--to", "gone@example.com")
    counts = orjson.loads(setup.ok("outbox", "--json"))
    assert counts == {
        "queued": 5,
        "scheduled": 0,
        "sending": 0,
        "sent": 0,
        "failed": 0,
        "rejected": 0,
        "suppressed": 1,
        "cancelled": 0,
        "dead": 0,
        "total": 6,
    }
    assert re.search(r"^ *suppressed: 1$", setup.ok("outbox"), re.M)
    first = setup.run("outbox", "list", "--batch", batch, "--limit", "3")
    assert first.exit_code == 0
    more = re.search(r"^more: --before (\d+)$", first.output, re.M)
    assert more is not None, first.output
    second = setup.ok("outbox", "list", "--batch", batch, "--limit", "3", "--before", more[1])
    listed = _ids(first.stdout) + _ids(second)
    assert len(set(listed)) == 5
    assert "more:" not in second
    suppressed = setup.ok("outbox", "list", "--status", "suppressed")
    assert len(_ids(suppressed)) == 1
    assert "gone@example.com  hard_bounce" in suppressed
    assert _ids(setup.ok("outbox", "list", "--email", "R1@example.com")) == [listed[3]]
    assert "(none)" in setup.ok("outbox", "list", "--status", "dead")
    assert setup.run("outbox", "list", "--status", "lost").exit_code == 2


def test_outbox_show_gives_attempts_outcome_and_events_escaped(setup: Setup) -> None:
    out = setup.ok(
        "send",
        "--from",
        "a@example.com",
        "--to",
        "ana@example.com",
        "--subject",
        "Oi\x1b[2J\nforged: line",
        "--text",
        "x",
        "--metadata",
        "qj_contact_id=7",
    )
    (public_id,) = _ids(out)
    dispatch(setup.app, [public_id])
    report_delivered(setup.app, public_id, "ana@example.com", 7)
    shown = setup.ok("outbox", "show", public_id)
    assert f"id: {public_id}" in shown
    assert "status: sent" in shown
    assert "subject: Oi\\x1b[2J\\nforged: line" in shown
    assert "\x1b" not in shown
    assert not re.search(r"^forged", shown, re.M)
    assert re.search(r"^attempts \(1\):\n  \S+ \S+  \w+  accepted  HTTP 200", shown, re.M), shown
    assert re.search(r"^events \(1\):\n  \S+ \S+  delivered  ", shown, re.M), shown
    assert re.search(r"^outcome: .*delivered \d{4}-", shown, re.M), shown
    missing = setup.run("outbox", "show", "msg_nope")
    assert missing.exit_code == 1
    assert "no message msg_nope" in missing.output
