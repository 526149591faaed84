"""A campaign's life in minutes: the minutes its chart shows, and each series in them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from emailhook.domain.sending.campaign_minutes import chart_minutes, floor_minute, minute_series

MADE = datetime(2026, 12, 7, 10, 0, 40, tzinfo=UTC)


def _minute(n: int) -> datetime:
    return floor_minute(MADE) + timedelta(minutes=n)


def test_the_chart_runs_from_the_minute_made_to_now_or_the_last_counted_minute() -> None:
    assert chart_minutes(MADE, MADE + timedelta(minutes=2), {}) == [_minute(n) for n in range(3)]
    later = {"sent": {_minute(5): 3}}
    assert chart_minutes(MADE, MADE, later) == [_minute(n) for n in range(6)]


def test_a_long_campaign_shows_its_latest_minutes() -> None:
    now = MADE + timedelta(hours=10)
    shown = chart_minutes(MADE, now, {"sent": {_minute(0): 1}}, limit=60)
    assert (len(shown), shown[-1]) == (60, floor_minute(now))


def test_each_series_counts_in_its_minute_with_zeros_and_ignores_minutes_not_shown() -> None:
    minutes = [_minute(n) for n in range(3)]
    counted = {
        "sent": {_minute(0): 5, _minute(2): 1, _minute(9): 4},
        "delivered": {_minute(1): 2},
    }
    assert minute_series(minutes, counted) == {"sent": [5, 0, 1], "delivered": [0, 2, 0]}
