"""``emailhook campaign`` against a real database (SQLite and PostgreSQL): create from a file
of recipients through the same service as ``POST /campaigns``, a bad line named by its line
of the file, and show, pause, resume and cancel."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner, Result

from emailhook import create_app
from emailhook.entrypoints.cli.main import main
from emailhook.settings import Settings
from support.fake_senders import FakeInfobipSender
from support.sent_messages import INFOBIP_KEY, send_settings
from support.services import fresh_postgres_database

CREATE = ["campaign", "create", "--from", "cobranca@example.com", "--subject", "Ola {{name}}"]


@dataclass
class Setup:
    env: dict[str, str]
    tmp_path: Path

    def run(self, *args: str) -> Result:
        return CliRunner().invoke(main, list(args), env=self.env)

    def ok(self, *args: str) -> str:
        result = self.run(*args)
        assert result.exit_code == 0, result.output
        return result.stdout

    def file(self, *recipients: object) -> str:
        path = self.tmp_path / "recipients.jsonl"
        path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in recipients))
        return str(path)


@pytest.fixture(scope="module")
def infobip() -> Iterator[FakeInfobipSender]:
    with FakeInfobipSender(api_key=INFOBIP_KEY) as fake:
        yield fake


@pytest.fixture(params=["sqlite", "postgres"])
def setup(
    request: pytest.FixtureRequest, tmp_path: Path, infobip: FakeInfobipSender
) -> Iterator[Setup]:
    env = {"EMAILHOOK_DATA_DIR": str(tmp_path), **send_settings(infobip)}
    if request.param == "sqlite":
        app = create_app(Settings(data_dir=tmp_path))  # migrates the file the command opens
        app.extensions["emailhook"].database.engine.dispose()
        yield Setup(env, tmp_path)
        return
    with fresh_postgres_database(migrated=True) as url:
        yield Setup({**env, "EMAILHOOK_DATABASE_URL": url}, tmp_path)


def test_create_takes_a_file_of_recipients_and_show_pause_resume_cancel_steer_it(
    setup: Setup,
) -> None:
    recipients = [
        {"email": f"r{n}@example.com", "merge_data": {"name": f"N{n}"}} for n in range(1500)
    ]
    path = setup.file(*recipients, {"email": "R1@example.com"})
    out = setup.ok(*CREATE, path, "--text", "Oi {{name}}", "--rate", "20")
    found = re.search(r"^campaign (cmp_\w+): 1500 recipients \(0 suppressed\), 1 duplicates", out)
    assert found is not None, out
    campaign = found[1]
    shown = orjson.loads(setup.ok("campaign", "show", campaign, "--json"))
    assert (shown["state"], shown["rate"], shown["messages"]["queued"]) == ("running", 20.0, 1500)
    out = setup.ok("campaign", "pause", campaign, "--reason", "checking the list")
    assert "state: paused" in out
    assert "pause_reason: checking the list" in out
    assert "state: running" in setup.ok("campaign", "resume", campaign)
    out = setup.ok("campaign", "cancel", campaign)
    assert "state: cancelled" in out
    assert "messages: cancelled 1500" in out
    result = setup.run("campaign", "resume", campaign)
    assert result.exit_code == 1
    assert "cancelled" in result.output


def test_a_bad_line_is_named_by_its_line_of_the_file_and_nothing_is_kept(setup: Setup) -> None:
    path = setup.file({"email": "a@example.com"}, {"email": "not an address"})
    result = setup.run(*CREATE, path, "--text", "Oi")
    assert result.exit_code == 1
    assert f"{path} line 2.email: not an e-mail address" in result.output
    result = setup.run(*CREATE[:-2], path, "--text", "Oi")
    assert result.exit_code == 1
    assert "--subject: required" in result.output


def test_create_takes_a_csv_file_its_metadata_columns_kept_and_a_bad_row_named(
    setup: Setup,
) -> None:
    path = setup.tmp_path / "recipients.csv"
    rows = "".join(f"r{n}@example.com,N{n},{n}\n" for n in range(1200))
    path.write_text("\ufeffemail,name,metadata.qj_contact_id\n" + rows + "R1@example.com,X,\n")
    out = setup.ok(*CREATE, str(path), "--text", "Oi {{name}}")
    found = re.search(r"^campaign (cmp_\w+): 1200 recipients \(0 suppressed\), 1 duplicates", out)
    assert found is not None, out
    shown = orjson.loads(setup.ok("campaign", "show", found[1], "--json"))
    assert shown["messages"]["queued"] == 1200
    path.write_text('email,name\na@example.com,"A, B"\nnot an address,C\n')
    result = setup.run(*CREATE, str(path), "--text", "Oi")
    assert result.exit_code == 1
    assert f"{path} row 3.email: not an e-mail address" in result.output
    result = setup.run(*CREATE[:-2], str(path), "--text", "Oi")
    assert "--subject: required" in result.output
