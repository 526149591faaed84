"""A campaign's life in minutes: the minutes its chart shows, and each series' count in each
of them (zeros included). Pure: the counts come from ``adapters.reads.campaign_progress``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

MINUTE = timedelta(minutes=1)
#: the most minutes one chart shows (six hours): a longer campaign shows its latest minutes
MAX_MINUTES = 360


def floor_minute(instant: datetime) -> datetime:
    """Return the start of the minute (UTC) that holds ``instant``."""
    return instant.astimezone(UTC).replace(second=0, microsecond=0)


def chart_minutes(
    created: datetime,
    until: datetime,
    counted: Mapping[str, Mapping[datetime, int]],
    limit: int = MAX_MINUTES,
) -> list[datetime]:
    """Return the minutes a campaign's chart shows: from the minute it was made to the later
    of ``until`` and its last counted minute, the latest ``limit`` of them."""
    first = floor_minute(created)
    last = max([floor_minute(until), *(m for series in counted.values() for m in series)])
    first = max(first, last - (limit - 1) * MINUTE)
    return [first + n * MINUTE for n in range(int((last - first) / MINUTE) + 1)]


def minute_series(
    minutes: list[datetime], counted: Mapping[str, Mapping[datetime, int]]
) -> dict[str, list[int]]:
    """Return each series' count in each of ``minutes`` (zeros included; others ignored)."""
    index = {minute: n for n, minute in enumerate(minutes)}
    found = {name: [0] * len(minutes) for name in counted}
    for name, counts in counted.items():
        for minute, n in counts.items():
            if (i := index.get(floor_minute(minute))) is not None:
                found[name][i] += n
    return found
