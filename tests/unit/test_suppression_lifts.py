"""Suppressions that end: evidence and lifts merge by max, the list is a function of them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import reduce

from hypothesis import given
from hypothesis import strategies as st

from emailhook.domain.suppression import (
    ActiveSuppression,
    Evidence,
    Lift,
    Lifts,
    SoftBounceRule,
    Source,
    SuppressionReason,
    active_suppression,
    last_breach,
    merge_evidence,
    merge_lifts,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
WINDOW = timedelta(days=30)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def ev(reason: SuppressionReason, first: float, last: float | None = None) -> Evidence:
    return Evidence(reason, Source.EMAILHOOK, day(first), day(first if last is None else last))


def test_an_unblock_lifts_an_unsubscribe_but_not_a_complaint() -> None:
    unsub, complaint = ev(SuppressionReason.UNSUBSCRIBE, 1), ev(SuppressionReason.COMPLAINT, 1)
    lifts = Lifts(unblocked_at=day(2))
    assert active_suppression([unsub], lifts, WINDOW) is None
    found = active_suppression([unsub, complaint], lifts, WINDOW)
    assert found == ActiveSuppression(SuppressionReason.COMPLAINT, day(1), Source.EMAILHOOK, None)


def test_a_removal_lifts_every_reason_suppressed_before_it_and_none_after() -> None:
    before = [ev(reason, 1) for reason in SuppressionReason]
    assert active_suppression(before, Lifts(removed_at=day(2)), WINDOW) is None
    later = ev(SuppressionReason.HARD_BOUNCE, 3)
    found = active_suppression([*before, later], Lifts(removed_at=day(2)), WINDOW)
    assert found == ActiveSuppression(SuppressionReason.HARD_BOUNCE, day(3), Source.EMAILHOOK, None)


def test_a_delivery_lifts_soft_bounces_and_a_window_ends_them() -> None:
    soft = ev(SuppressionReason.SOFT_BOUNCES, 1, 2)
    assert active_suppression([soft], Lifts(delivered_at=day(3)), WINDOW) is None
    found = active_suppression([soft], Lifts(delivered_at=day(0)), WINDOW)
    assert found is not None
    assert (found.since, found.until) == (day(1), day(2) + WINDOW)
    assert active_suppression([soft], Lifts(), None) == ActiveSuppression(
        SuppressionReason.SOFT_BOUNCES, day(1), Source.EMAILHOOK, None
    )


def test_since_is_the_latest_event_when_the_first_was_lifted() -> None:
    unsub = ev(SuppressionReason.UNSUBSCRIBE, 1, 5)
    found = active_suppression([unsub], Lifts(unblocked_at=day(3)), WINDOW)
    assert found is not None
    assert found.since == day(5)


def test_last_breach_is_the_end_of_the_latest_full_window() -> None:
    rule = SoftBounceRule(limit=3, window=timedelta(days=7))
    times = [day(0), day(1), day(2), day(20), day(30), day(31), day(32)]
    assert rule.first_breach(times) == day(2)
    assert last_breach(rule, times) == day(32)
    assert last_breach(rule, times[:2]) is None


_times = st.integers(0, 100).map(lambda n: day(n))
_lifts = st.builds(Lifts, st.none() | _times, st.none() | _times, st.none() | _times)
_evidence = st.builds(
    lambda reason, source, a, b: Evidence(reason, source, min(a, b), max(a, b)),
    st.sampled_from(list(SuppressionReason)),
    st.sampled_from(list(Source)),
    _times,
    _times,
)


@given(st.lists(_lifts, min_size=1, max_size=6), st.randoms())
def test_lifts_merge_the_same_in_any_order(items: list[Lifts], rnd: object) -> None:
    shuffled = list(items)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert reduce(merge_lifts, items) == reduce(merge_lifts, shuffled)
    merged = reduce(merge_lifts, items)
    for lift in Lift:
        present = [t for t in (i.at(lift) for i in items) if t is not None]
        assert merged.at(lift) == (max(present) if present else None)


@given(st.lists(_evidence, min_size=1, max_size=8), _lifts, st.randoms())
def test_the_list_entry_does_not_depend_on_the_order_of_evidence(
    items: list[Evidence], lifts: Lifts, rnd: object
) -> None:
    def merged(order: list[Evidence]) -> list[Evidence]:
        found: dict[tuple[SuppressionReason, Source], Evidence] = {}
        for item in order:
            key = (item.reason, item.source)
            found[key] = merge_evidence(found[key], item) if key in found else item
        return list(found.values())

    shuffled = list(items)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert active_suppression(merged(items), lifts, WINDOW) == active_suppression(
        merged(shuffled), lifts, WINDOW
    )
