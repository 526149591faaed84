"""A campaign's first line read into its message and rate, a chunk's errors named by the
upload's lines, and the bucket that paces a campaign many messages at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from emailhook.domain.sending.campaign import line_errors, read_header
from emailhook.domain.sending.token_bucket import BucketState, take_up_to
from emailhook.domain.sending.validation import InvalidSendRequestError

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_the_first_line_gives_the_message_without_its_rate() -> None:
    fields, rate = read_header({"from": "a@x.com", "subject": "S", "rate": 25})
    assert (fields, rate) == ({"from": "a@x.com", "subject": "S"}, 25.0)
    assert read_header({"from": "a@x.com"}) == ({"from": "a@x.com"}, None)


@pytest.mark.parametrize("rate", [0, -1, "5", True, float("nan"), float("inf"), 1e9])
def test_a_rate_that_is_not_a_positive_number_is_refused_by_name(rate: object) -> None:
    with pytest.raises(InvalidSendRequestError) as refused:
        read_header({"from": "a@x.com", "rate": rate})
    assert set(refused.value.errors) == {"line 1.rate"}


def test_recipients_in_the_first_line_or_a_first_line_not_an_object_are_refused() -> None:
    with pytest.raises(InvalidSendRequestError) as refused:
        read_header({"from": "a@x.com", "to": ["b@x.com"]})
    assert set(refused.value.errors) == {"line 1.to"}
    with pytest.raises(InvalidSendRequestError):
        read_header(["a@x.com"])


def test_a_chunks_errors_are_named_by_the_uploads_lines() -> None:
    errors = {"to[0].email": ["bad"], "to[2]": ["not an object"], "subject": ["x"]}
    assert line_errors(errors, [10, 11, 13]) == {
        "line 10.email": ["bad"],
        "line 13": ["not an object"],
        "subject": ["x"],
    }


def test_a_bucket_gives_as_many_whole_tokens_as_it_holds_and_no_more_than_wanted() -> None:
    full = BucketState(5.0, T0)
    assert take_up_to(full, T0, 5.0, 5.0, 100) == (5, BucketState(0.0, T0))
    assert take_up_to(full, T0, 5.0, 5.0, 3) == (3, BucketState(2.0, T0))
    later = T0 + timedelta(seconds=0.5)
    taken, state = take_up_to(BucketState(0.0, T0), later, 5.0, 5.0, 100)
    assert (taken, state.tokens) == (2, 0.5)
    # never more than the burst, however long it waited
    assert take_up_to(BucketState(0.0, T0), T0 + timedelta(hours=1), 5.0, 5.0, 100)[0] == 5
