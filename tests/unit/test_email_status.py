"""Derived e-mail status: classification of events and an order-free summary of them."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emailhook.domain.email_status import (
    RANK,
    EmailStatus,
    Observation,
    classify_vocabulary,
    merge,
    observe,
    summarize,
)
from emailhook.domain.statuses import EVENT_STATUSES
from emailhook.providers.infobip.mapping import vocabulary
from emailhook.providers.infobip.parsing import parse_body

T0 = datetime(2024, 7, 16, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "error_id", "permanent", "expected"),
    [
        ("DELIVERED", 0, False, EmailStatus.DELIVERED),
        ("PENDING", None, None, EmailStatus.PENDING),
        # failed: not sent, and not the address's fault (issue 23: the vocabulary's reading)
        ("EXPIRED", None, None, EmailStatus.REJECTED),
        ("REJECTED", 7, None, EmailStatus.REJECTED),
        ("UNDELIVERABLE", 6012, True, EmailStatus.HARD_BOUNCE),
        ("UNDELIVERABLE", 6010, False, EmailStatus.SOFT_BOUNCE),
        # error.permanent decides before the code does...
        ("UNDELIVERABLE", 6009, False, EmailStatus.SOFT_BOUNCE),
        ("UNDELIVERABLE", 6011, True, EmailStatus.HARD_BOUNCE),
        # ...and the code only when the flag is missing
        ("UNDELIVERABLE", 6037, None, EmailStatus.HARD_BOUNCE),
        ("UNDELIVERABLE", 6007, None, EmailStatus.SOFT_BOUNCE),
        ("UNDELIVERABLE", None, None, EmailStatus.SOFT_BOUNCE),
        ("UNDELIVERABLE", 6034, True, EmailStatus.SUPPRESSED),
        ("UNDELIVERABLE", 6035, None, EmailStatus.SUPPRESSED),
        ("REJECTED", 6003, False, EmailStatus.SUPPRESSED),
        ("DELIVERED", 6034, None, EmailStatus.DELIVERED),
        ("OPENED", None, None, EmailStatus.OPENED),
        ("CLICKED", None, None, EmailStatus.CLICKED),
        ("UNSUBSCRIBED", None, None, EmailStatus.UNSUBSCRIBED),
        ("COMPLAINED", None, None, EmailStatus.COMPLAINED),
        # bounced, hard: a hard bounce like any other (issue 23: the vocabulary's reading)
        ("LATE_BOUNCE", None, None, EmailStatus.HARD_BOUNCE),
        ("SOMETHING_NEW", None, None, EmailStatus.UNKNOWN),
        (None, None, None, EmailStatus.UNKNOWN),
    ],
)
def test_infobips_reports_classify_by_their_vocabulary_permanent_flag_then_code(
    status: str | None, error_id: int | None, permanent: bool | None, expected: EmailStatus
) -> None:
    assert classify_vocabulary(*vocabulary(status, error_id, permanent)) is expected


@pytest.mark.parametrize(
    ("seed_name", "expected"),
    [
        ("delivered", EmailStatus.DELIVERED),
        ("undeliverable", EmailStatus.HARD_BOUNCE),
        ("suppressed_bounce", EmailStatus.SUPPRESSED),
        ("opened", EmailStatus.OPENED),
        ("clicked", EmailStatus.CLICKED),
        ("unsubscribed", EmailStatus.UNSUBSCRIBED),
        ("complained", EmailStatus.COMPLAINED),
    ],
)
def test_seed_bodies_classify_as_their_documented_status(
    seed, seed_name: str, expected: EmailStatus
) -> None:
    (event,) = parse_body(seed(seed_name)).events
    assert (
        classify_vocabulary(event.event_type, event.bounce_class, event.reject_reason) is expected
    )


def test_every_status_has_a_distinct_rank_and_every_event_status_is_classified() -> None:
    assert set(RANK) == set(EmailStatus)
    assert len(set(RANK.values())) == len(RANK)
    for status in EVENT_STATUSES:
        assert classify_vocabulary(*vocabulary(status, None, None)) is not EmailStatus.UNKNOWN


def obs(event_id: int, status: EmailStatus, minutes: int = 0) -> Observation:
    return Observation(event_id, 3, "a@example.com", status, T0 + timedelta(minutes=minutes))


def test_a_late_delivered_never_hides_an_earlier_bounce() -> None:
    bounce, delivered = obs(1, EmailStatus.HARD_BOUNCE, 0), obs(2, EmailStatus.DELIVERED, 5)
    summary = summarize([bounce, delivered])
    assert summary.status is EmailStatus.HARD_BOUNCE
    assert summary.status_since == bounce.occurred_at
    assert (summary.last_event_id, summary.last_status) == (2, EmailStatus.DELIVERED)


def test_a_late_bounce_overrides_delivered_and_a_complaint_overrides_everything() -> None:
    delivered = obs(1, EmailStatus.DELIVERED, 0)
    late = obs(2, EmailStatus.LATE_BOUNCE, 60)
    assert summarize([delivered, late]).status is EmailStatus.LATE_BOUNCE
    complaint = obs(3, EmailStatus.COMPLAINED, 1)
    assert summarize([late, complaint, delivered]).status is EmailStatus.COMPLAINED


def test_status_since_is_the_earliest_event_of_that_status_and_counts_add_up() -> None:
    events = [
        obs(1, EmailStatus.OPENED, 9),
        obs(2, EmailStatus.OPENED, 3),
        obs(3, EmailStatus.DELIVERED),
    ]
    summary = summarize(events)
    assert (summary.status, summary.status_since) == (EmailStatus.OPENED, T0 + timedelta(minutes=3))
    assert summary.counts == {EmailStatus.OPENED: 2, EmailStatus.DELIVERED: 1}


def test_last_event_ties_on_time_are_broken_by_the_higher_id() -> None:
    same_time = [
        obs(7, EmailStatus.OPENED),
        obs(9, EmailStatus.CLICKED),
        obs(8, EmailStatus.DELIVERED),
    ]
    for order in itertools.permutations(same_time):
        assert summarize(order).last_event_id == 9


observations = st.lists(
    st.builds(
        Observation,
        event_id=st.integers(1, 10_000),
        qj_contact_id=st.just(3),
        email=st.just("a@example.com"),
        status=st.sampled_from(list(EmailStatus)),
        occurred_at=st.integers(0, 20).map(lambda m: T0 + timedelta(minutes=m)),
    ),
    min_size=1,
    max_size=8,
    unique_by=lambda o: o.event_id,
)


@given(observations, st.randoms())
def test_every_arrival_order_gives_the_same_summary(events: list[Observation], rnd) -> None:
    shuffled = list(events)
    rnd.shuffle(shuffled)
    assert summarize(shuffled) == summarize(events)


@given(observations, st.integers(0, 8))
def test_summaries_of_any_split_into_batches_merge_to_the_whole(
    events: list[Observation], cut: int
) -> None:
    head, tail = events[:cut], events[cut:]
    if head and tail:
        assert merge(summarize(head), summarize(tail)) == summarize(events)
        assert merge(summarize(tail), summarize(head)) == summarize(events)


def test_every_permutation_of_a_bounce_story_ends_in_the_same_state() -> None:
    story = [
        obs(1, EmailStatus.PENDING, 0),
        obs(2, EmailStatus.DELIVERED, 1),
        obs(3, EmailStatus.OPENED, 2),
        obs(4, EmailStatus.LATE_BOUNCE, 3),
        obs(5, EmailStatus.CLICKED, 4),
    ]
    results = {summarize(order) == summarize(story) for order in itertools.permutations(story)}
    assert results == {True}
    assert summarize(story).status is EmailStatus.LATE_BOUNCE
    assert observe(story[0]).counts == {EmailStatus.PENDING: 1}
