"""Infobip's suppression list and blocklist entries read as our evidence (sample bodies)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from emailhook.domain.suppression import SuppressionReason
from emailhook.providers.infobip.suppressions import (
    Imported,
    blocklist_entry,
    may,
    suppression_entry,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "infobip"


def sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = orjson.loads((DATA / name).read_bytes())
    return loaded


def test_the_sample_bounce_is_a_hard_bounce_since_its_creation() -> None:
    [item] = sample("email_suppressions_get_response.json")["results"]
    assert suppression_entry(item, "BOUNCE") == Imported(
        "jane.smith@example.org",
        SuppressionReason.HARD_BOUNCE,
        datetime(2024, 8, 14, 14, 2, 17, 366000, tzinfo=UTC),
    )
    assert suppression_entry({**item, "type": "OVER_QUOTA"}, "BOUNCE") == Imported(
        "jane.smith@example.org",
        SuppressionReason.SOFT_BOUNCES,
        datetime(2024, 8, 14, 14, 2, 17, 366000, tzinfo=UTC),
    )


def test_unreadable_entries_give_no_evidence() -> None:
    [item] = sample("email_suppressions_get_response.json")["results"]
    assert suppression_entry({**item, "emailAddress": "41793026727"}, "BOUNCE") is None
    assert suppression_entry({**item, "createdDate": "yesterday"}, "BOUNCE") is None
    assert suppression_entry({**item, "type": "SPAM"}, "SPAM") is None


def test_only_email_blocklist_entries_are_unsubscribes() -> None:
    entries = sample("blocklists_get_response.json")["results"]
    assert [blocklist_entry(e) for e in entries] == [None, None, None]  # MMS, SMS, APPLE_MB
    email = {**entries[0], "channel": "EMAIL", "destination": "A@Example.org"}
    found = blocklist_entry(email)
    assert found is not None
    assert (found.email, found.reason) == ("a@example.org", SuppressionReason.UNSUBSCRIBE)


def test_permission_flags_must_be_true() -> None:
    owner, granted = sample("email_suppression_domains_response.json")["results"]
    assert may(owner, "readOverquotas")
    assert not may(granted, "readOverquotas")
    assert not may(granted, "createComplaints")
    assert not may({}, "readBounces")
