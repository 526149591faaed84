"""The dashboard's pure parts: rate definitions and time buckets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from emailhook.domain import message_outcomes as outcomes
from emailhook.domain.buckets import Bucket, Span, ceil, floor, series


def at(hour: int, minute: int = 0, day: int = 16) -> datetime:
    return datetime(2024, 7, day, hour, minute, tzinfo=UTC)


def test_rates_divide_messages_by_final_outcomes_and_by_deliveries() -> None:
    messages = {"final": 4, "delivered": 3, "bounced": 1, "opened": 2, "clicked": 1}
    computed = outcomes.rates(messages)
    assert computed == {
        "delivery": 0.75,
        "bounce": 0.25,
        "open": 0.667,
        "click": 0.333,
        "complaint": 0.0,
        "unsubscribe": 0.0,
    }
    assert list(computed) == list(outcomes.RATE_NAMES)


def test_a_rate_with_nothing_to_divide_by_is_none_not_zero() -> None:
    only_opens = outcomes.rates({"opened": 3})
    assert all(only_opens[name] is None for name in outcomes.RATE_NAMES)
    assert outcomes.rates({"final": 1, "bounced": 1})["delivery"] == 0.0


def test_a_flag_turns_on_once_and_final_with_the_first_final_outcome() -> None:
    assert outcomes.new_flags(frozenset(), frozenset({"opened"})) == {"opened"}
    assert outcomes.new_flags(frozenset({"opened"}), frozenset({"opened"})) == frozenset()
    assert outcomes.new_flags(frozenset(), frozenset({"delivered", "opened"})) == {
        "delivered",
        "opened",
        "final",
    }
    # a late bounce after a delivery: bounced turns on, the message was already final
    late = outcomes.new_flags(frozenset({"delivered", "final"}), frozenset({"bounced"}))
    assert late == {"bounced"}
    assert outcomes.flag_of("deferred") is None
    assert outcomes.flag_of("no such type") is None


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
