"""Suppression sync against the local Infobip stand-in: Infobip's lists imported with source
``infobip`` (by each domain's read flags), repeatable, lifted by a later removal; the export
opt-in and by each domain's create flags."""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from emailhook.adapters.db.engine import Database
from emailhook.adapters.db.models import SuppressedAddress
from emailhook.adapters.infobip.api import InfobipApi
from emailhook.entrypoints.cli.main import main
from emailhook.observability.logs import configure_logging
from emailhook.service.operations import Operations
from emailhook.service.receive.intake import SessionWriter
from emailhook.service.receive.processing import Processor
from emailhook.service.receive.suppression_sync import SuppressionSync
from emailhook.settings import Settings
from support.infobip_api import SUPPRESSIONS, FakeInfobip
from support.infobip_bodies import report, reports
from support.policies import new_intake, retry, soft_bounces

DATA = Path(__file__).resolve().parents[1] / "data" / "infobip"


def sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = orjson.loads((DATA / name).read_bytes())
    return loaded


@pytest.fixture
def infobip() -> Iterator[FakeInfobip]:
    with FakeInfobip() as server:
        server.domains = copy.deepcopy(sample("email_suppression_domains_response.json")["results"])
        [bounce] = sample("email_suppressions_get_response.json")["results"]
        server.suppressions[("example.com", "BOUNCE")] = [bounce]
        server.suppressions[("another.example.com", "COMPLAINT")] = [
            {
                **bounce,
                "domainName": "another.example.com",
                "type": "COMPLAINT",
                "emailAddress": "Spam.Reporter@Example.net",
            }
        ]
        # example.com may not read its over-quota list: never asked for
        server.suppressions[("example.com", "OVER_QUOTA")] = [
            {**bounce, "type": "OVER_QUOTA", "emailAddress": "full@example.org"}
        ]
        server.blocklist = [
            *sample("blocklists_get_response.json")["results"],  # MMS, SMS, APPLE_MB
            {
                "sender": "news@example.com",
                "destination": "optout@example.org",
                "sourceType": "URL_OPT_OUT",
                "channel": "EMAIL",
                "createdDate": "2024-09-01T10:00:00.000Z",
            },
        ]
        yield server


def sync(
    db: Database, infobip: FakeInfobip, *, export: bool = False, key: str | None = None
) -> Any:
    api_key = key or infobip.api_key
    return SuppressionSync(
        db.sessions,
        lambda: InfobipApi(infobip.url, api_key, sleep=lambda _: None),
        soft_bounce_window=None,
        export=export,
    ).run()


def listed(db: Database) -> dict[str, tuple[str, str, datetime]]:
    with db.sessions() as session:
        rows = session.execute(select(SuppressedAddress)).scalars()
        return {r.email: (r.reason, r.source, r.since) for r in rows}


EXPECTED = {
    "jane.smith@example.org": (
        "hard_bounce",
        "infobip",
        datetime(2024, 8, 14, 14, 2, 17, 366000, tzinfo=UTC),
    ),
    "spam.reporter@example.net": (
        "complaint",
        "infobip",
        datetime(2024, 8, 14, 14, 2, 17, 366000, tzinfo=UTC),
    ),
    "optout@example.org": ("unsubscribe", "infobip", datetime(2024, 9, 1, 10, tzinfo=UTC)),
}


def test_infobip_lists_are_imported_with_their_source_by_each_domain_read_flags(
    database: Database, infobip: FakeInfobip
) -> None:
    result = sync(database, infobip)
    assert result.completed, result.error
    assert listed(database) == EXPECTED
    assert dict(result.imported) == {"BOUNCE": 1, "COMPLAINT": 1, "BLOCKLIST": 1}
    assert result.skipped == 0  # asked with channel=EMAIL: no MMS, SMS or APPLE_MB entry
    asked = {(q["domainName"], q["type"]) for q in infobip.queries[SUPPRESSIONS]}
    assert ("example.com", "OVER_QUOTA") not in asked
    assert ("another.example.com", "OVER_QUOTA") in asked
    # again: the same list
    assert sync(database, infobip).completed
    assert listed(database) == EXPECTED


def test_a_removal_after_the_import_holds_on_the_next_sync(
    database: Database, infobip: FakeInfobip, tmp_path: Path
) -> None:
    sync(database, infobip)
    ops = Operations(database, database, spool_dir=tmp_path, soft_bounces=soft_bounces())
    ops.remove_suppression("optout@example.org", reason="resubscribed by phone", operator="ana")
    sync(database, infobip)
    assert "optout@example.org" not in listed(database)


def test_the_export_is_opt_in_and_follows_each_domain_create_flags(
    database: Database, infobip: FakeInfobip
) -> None:
    now = datetime(2026, 11, 1, tzinfo=UTC)
    bounce = report(
        "ours@example.org", now, "UNDELIVERABLE", message_id="x1", error_id=6012, permanent=True
    )
    body_id = new_intake(SessionWriter(database.sessions)).accept(reports(bounce)).body_id
    assert body_id is not None
    Processor(database.sessions, retry(), soft_bounces=soft_bounces()).process([body_id])

    sync(database, infobip)
    assert infobip.received == []  # off by default
    result = sync(database, infobip, export=True)
    assert dict(result.exported) == {"BOUNCE": 2}  # both domains may create bounces
    sent = sorted(
        (entry["domainName"], entry["type"], tuple(entry["emailAddress"]))
        for method, body in infobip.received
        for entry in body["suppressions"]
    )
    # only what our own events found: nothing imported from Infobip goes back
    assert sent == [
        ("another.example.com", "BOUNCE", ("ours@example.org",)),
        ("example.com", "BOUNCE", ("ours@example.org",)),
    ]


def test_a_refused_key_ends_the_sync_with_a_clear_error_and_no_secret_in_logs(
    database: Database, infobip: FakeInfobip, caplog: pytest.LogCaptureFixture
) -> None:
    key = "ib-key-7c1d-not-this-one"
    configure_logging(settings=Settings(infobip_api_key=key))
    with caplog.at_level(logging.INFO, logger="emailhook"):
        result = sync(database, infobip, key=key)
        logging.getLogger("emailhook.test").warning("a line with the key %s in it", key)
    assert not result.completed
    assert "401" in (result.error or "")
    assert listed(database) == {}
    assert key not in caplog.text
    assert all(key not in r.getMessage() for r in caplog.records)


def test_the_cli_syncs(tmp_path: Path, infobip: FakeInfobip) -> None:
    env = {
        "EMAILHOOK_DATA_DIR": str(tmp_path),
        "EMAILHOOK_INFOBIP_BASE_URL": infobip.url,
        "EMAILHOOK_INFOBIP_API_KEY": infobip.api_key,
    }
    done = CliRunner().invoke(main, ["suppressions", "sync", "--json"], env=env)
    assert done.exit_code == 0, done.output
    result = orjson.loads(done.output.strip().splitlines()[-1])
    assert result["completed"] is True
    assert result["imported"] == {"BOUNCE": 1, "COMPLAINT": 1, "BLOCKLIST": 1}
