"""Infobip's timestamps, turned into aware UTC datetimes."""

from __future__ import annotations

import re
from datetime import UTC, datetime

# Infobip writes offsets without a colon (``-0300``, ``+0000``); SDK fixtures also show
# ``+00:00``, ``Z`` and no milliseconds. Python 3.11's fromisoformat reads all of these; the
# regex is the fallback for surrounding spaces and other near-misses.
_BASIC_OFFSET = re.compile(r"([+-]\d{2})(\d{2})$")


def parse_instant(value: object) -> datetime | None:
    """Return an ISO 8601 timestamp as aware UTC, or None when it is missing or unreadable."""
    if not isinstance(value, str) or not value or len(value) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(_BASIC_OFFSET.sub(r"\1:\2", value.strip()))
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+0100 lies before datetime.min in UTC
        return None


def from_epoch_millis(value: object) -> datetime | None:
    """Return epoch milliseconds (tracking events' ``sendDateTime``) as aware UTC."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def from_epoch_seconds(value: object) -> datetime | None:
    """Return epoch seconds (an int, a float or a numeric string) as aware UTC."""
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
