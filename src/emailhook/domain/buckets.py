"""Time buckets of the dashboard's charts: whole UTC hours or days, and ranges of them."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


class Bucket(enum.StrEnum):
    HOUR = "hour"
    DAY = "day"


STEP: Mapping[Bucket, timedelta] = {Bucket.HOUR: timedelta(hours=1), Bucket.DAY: timedelta(days=1)}
#: the most buckets one chart shows: 31 days of hours, about 3 years of days
MAX_BUCKETS: Mapping[Bucket, int] = {Bucket.HOUR: 31 * 24, Bucket.DAY: 1100}


def floor(instant: datetime, bucket: Bucket) -> datetime:
    """Return the start of the bucket that holds ``instant`` (UTC)."""
    instant = instant.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return instant.replace(hour=0) if bucket is Bucket.DAY else instant


def ceil(instant: datetime, bucket: Bucket) -> datetime:
    """Return the start of the first bucket at or after ``instant``."""
    start = floor(instant, bucket)
    return start if start == instant else start + STEP[bucket]


@dataclass(frozen=True, slots=True)
class Span:
    """Whole buckets from ``start`` (inclusive) to ``end`` (exclusive)."""

    start: datetime
    end: datetime
    bucket: Bucket

    @classmethod
    def covering(cls, since: datetime, until: datetime, bucket: Bucket) -> Span:
        """Return the smallest span of whole buckets that holds [since, until)."""
        return cls(floor(since, bucket), ceil(until, bucket), bucket)

    def __len__(self) -> int:
        return int((self.end - self.start) / STEP[self.bucket])

    def starts(self) -> list[datetime]:
        step = STEP[self.bucket]
        return [self.start + n * step for n in range(len(self))]


def series(span: Span, hourly: Iterable[tuple[datetime, str, int]]) -> dict[str, list[int]]:
    """Return counts per status and bucket of ``span`` (zeros included) from hourly counts.

    A day is the sum of its hours; hours outside the span are ignored.
    """
    starts = span.starts()
    index = {start: n for n, start in enumerate(starts)}
    found: dict[str, list[int]] = {}
    for hour, status, count in hourly:
        n = index.get(floor(hour, span.bucket))
        if n is None:
            continue
        found.setdefault(status, [0] * len(starts))[n] += count
    return found
