"""Suppression: reasons, their precedence, and the soft-bounce window rule."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from emailhook.domain.email_status import EmailStatus
from emailhook.domain.suppression import (
    REASON_RANK,
    SUPPRESSING_STATUSES,
    SoftBounceRule,
    Suppression,
    SuppressionReason,
    combine,
)

T0 = datetime(2024, 7, 1, tzinfo=UTC)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def test_only_bounces_suppression_unsubscribe_and_complaint_suppress_by_one_event() -> None:
    assert set(SUPPRESSING_STATUSES) == {
        EmailStatus.HARD_BOUNCE,
        EmailStatus.LATE_BOUNCE,
        EmailStatus.SUPPRESSED,
        EmailStatus.UNSUBSCRIBED,
        EmailStatus.COMPLAINED,
    }
    assert set(REASON_RANK) == set(SuppressionReason)


def test_combined_suppression_shows_the_worst_reason_since_the_first_one() -> None:
    bounce = Suppression(SuppressionReason.HARD_BOUNCE, day(1))
    complaint = Suppression(SuppressionReason.COMPLAINT, day(5))
    expected = Suppression(SuppressionReason.COMPLAINT, day(1))
    assert combine(bounce, complaint) == combine(complaint, bounce) == expected


@given(
    st.lists(
        st.builds(
            Suppression,
            reason=st.sampled_from(list(SuppressionReason)),
            since=st.integers(0, 30).map(day),
        ),
        min_size=1,
        max_size=6,
    ),
    st.randoms(),
)
def test_combining_in_any_order_gives_the_same_suppression(items: list[Suppression], rnd) -> None:
    shuffled = list(items)
    rnd.shuffle(shuffled)
    first, *rest = items
    other, *others = shuffled
    for item in rest:
        first = combine(first, item)
    for item in others:
        other = combine(other, item)
    assert first == other


def test_three_soft_bounces_within_seven_days_suppress_from_the_third() -> None:
    rule = SoftBounceRule(limit=3, window=timedelta(days=7))
    bounces = [day(0), day(3), day(6)]
    for order in itertools.permutations(bounces):
        assert rule.first_breach(order) == day(6)


def test_soft_bounces_spread_wider_than_the_window_do_not_suppress() -> None:
    rule = SoftBounceRule(limit=3, window=timedelta(days=7))
    assert rule.first_breach([day(0), day(4), day(8), day(13)]) is None
    assert rule.first_breach([day(0), day(4)]) is None
    assert rule.first_breach([]) is None


def test_the_earliest_qualifying_window_gives_since() -> None:
    rule = SoftBounceRule(limit=2, window=timedelta(days=1))
    assert rule.first_breach([day(30), day(10), day(10.5), day(29.5)]) == day(10.5)
    assert SoftBounceRule(limit=1, window=timedelta(days=7)).first_breach([day(4), day(2)]) == day(
        2
    )
