"""The dashboard's pure parts: rate definitions and time buckets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from emailhook.domain import rates
from emailhook.domain.buckets import Bucket, Span, ceil, floor, series


def at(hour: int, minute: int = 0, day: int = 16) -> datetime:
    return datetime(2024, 7, day, hour, minute, tzinfo=UTC)


def test_rates_divide_by_final_reports_and_by_deliveries() -> None:
    counts = {
        "DELIVERED": 80,
        "UNDELIVERABLE": 10,
        "EXPIRED": 5,
        "REJECTED": 5,
        "PENDING": 50,  # not final: in no denominator
        "LATE_BOUNCE": 2,
        "OPENED": 40,
        "CLICKED": 8,
        "COMPLAINED": 1,
        "UNSUBSCRIBED": 4,
    }
    computed = rates.compute(counts)
    assert computed.final_reports == 100
    assert computed.delivered == 80
    assert computed["delivery"] == pytest.approx(0.80)
    assert computed["bounce"] == pytest.approx(0.12)  # (10 + 2) / 100
    assert computed["open"] == pytest.approx(0.50)
    assert computed["click"] == pytest.approx(0.10)
    assert computed["complaint"] == pytest.approx(0.0125)
    assert computed["unsubscribe"] == pytest.approx(0.05)
    assert list(computed.values) == list(rates.RATE_NAMES)


def test_a_rate_with_nothing_to_divide_by_is_none_not_zero() -> None:
    only_opens = rates.compute({"OPENED": 3, "PENDING": 2})
    assert all(only_opens[name] is None for name in rates.RATE_NAMES)
    assert rates.compute({})["delivery"] is None
    assert rates.compute({"UNDELIVERABLE": 1})["delivery"] == 0.0


def test_open_rate_counts_events_so_it_can_pass_one() -> None:
    assert rates.compute({"DELIVERED": 1, "OPENED": 3})["open"] == 3.0


def test_rates_are_described_as_formulas() -> None:
    described = {d.name: rates.describe(d) for d in rates.DEFINITIONS}
    assert described["delivery"] == "DELIVERED / (DELIVERED + UNDELIVERABLE + EXPIRED + REJECTED)"
    assert described["bounce"].startswith("(UNDELIVERABLE + LATE_BOUNCE) / ")
    assert described["open"] == "OPENED / DELIVERED"


def test_floor_and_ceil_cut_to_whole_utc_buckets() -> None:
    brasilia = datetime(2024, 7, 16, 22, 30, tzinfo=UTC).astimezone(
        datetime.fromisoformat("2024-01-01T00:00-03:00").tzinfo
    )
    assert floor(brasilia, Bucket.HOUR) == at(22)
    assert floor(brasilia, Bucket.DAY) == at(0)
    assert ceil(at(22, 30), Bucket.HOUR) == at(23)
    assert ceil(at(22), Bucket.HOUR) == at(22)
    assert ceil(at(22, 30), Bucket.DAY) == at(0, day=17)


def test_span_covers_whole_buckets_and_lists_them() -> None:
    span = Span.covering(at(10, 15), at(12, 1), Bucket.HOUR)
    assert (span.start, span.end, len(span)) == (at(10), at(13), 3)
    assert span.starts() == [at(10), at(11), at(12)]
    assert len(Span.covering(at(10), at(10, 1, day=18), Bucket.DAY)) == 3


def test_series_fills_zeros_and_sums_hours_into_days() -> None:
    hourly = [
        (at(1), "DELIVERED", 2),
        (at(23), "DELIVERED", 3),
        (at(5, day=17), "OPENED", 1),
        (at(5, day=30), "OPENED", 9),  # outside: ignored
    ]
    days = series(Span(at(0), at(0, day=18), Bucket.DAY), hourly)
    assert days == {"DELIVERED": [5, 0], "OPENED": [0, 1]}
    hours = series(Span(at(0), at(0) + timedelta(hours=3), Bucket.HOUR), hourly)
    assert hours == {"DELIVERED": [0, 2, 0]}
