"""Infobip's timestamps, read into aware UTC datetimes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from emailhook.domain.instants import from_epoch_millis, parse_instant

SEED_DONE_AT = datetime(2024, 7, 16, 20, 26, 54, 966000, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("2024-07-16T17:26:54.966-0300", id="basic offset, as Infobip sends"),
        pytest.param("2024-07-16T17:26:54.966-03:00", id="extended offset"),
        pytest.param("2024-07-16T20:26:54.966+0000", id="basic zero offset"),
        pytest.param("2024-07-16T20:26:54.966+00:00", id="extended zero offset"),
        pytest.param("2024-07-16T20:26:54.966Z", id="Z"),
        pytest.param("2024-07-16T22:26:54.966+0200", id="positive offset"),
        pytest.param("2024-07-16T20:26:54.966", id="naive, read as UTC"),
        pytest.param(" 2024-07-16T17:26:54.966-0300 ", id="surrounding spaces"),
    ],
)
def test_every_offset_form_gives_the_same_utc_instant(text: str) -> None:
    parsed = parse_instant(text)
    assert parsed == SEED_DONE_AT
    assert parsed is not None
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("2020-09-08T05:27:57.628+0000", datetime(2020, 9, 8, 5, 27, 57, 628000, tzinfo=UTC)),
        ("2024-07-16T17:26:54-0300", datetime(2024, 7, 16, 20, 26, 54, tzinfo=UTC)),
        ("2024-07-16T17:26:54Z", datetime(2024, 7, 16, 17, 26, 54, tzinfo=UTC)),
        ("2024-12-31T22:30:00-0300", datetime(2025, 1, 1, 1, 30, tzinfo=UTC)),
    ],
)
def test_instants_without_millis_or_across_midnight_are_read(text: str, instant: datetime) -> None:
    assert parse_instant(text) == instant


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("yesterday", id="garbage"),
        pytest.param("2024-13-45T25:61:00Z", id="impossible date"),
        pytest.param("2024-07-16T17:26:54.966-0300" + " " * 64, id="too long"),
        pytest.param("2024-07-16T17:26:54\ud800", id="lone surrogate"),
        pytest.param("0001-01-01T00:00:00+0100", id="before datetime.min in UTC"),
        pytest.param("9999-12-31T23:59:59-0100", id="after datetime.max in UTC"),
        pytest.param(1721161640510, id="epoch number"),
        pytest.param(["2024-07-16"], id="list"),
    ],
)
def test_unreadable_instant_gives_none(value: object) -> None:
    assert parse_instant(value) is None


@pytest.mark.parametrize(
    ("millis", "instant"),
    [
        (1721161640510, datetime(2024, 7, 16, 20, 27, 20, 510000, tzinfo=UTC)),
        (1704106800000, datetime(2024, 1, 1, 11, 0, tzinfo=UTC)),
        (0, datetime(1970, 1, 1, tzinfo=UTC)),
        (1721161640510.0, datetime(2024, 7, 16, 20, 27, 20, 510000, tzinfo=UTC)),
    ],
)
def test_epoch_millis_are_read_as_utc(millis: float, instant: datetime) -> None:
    parsed = from_epoch_millis(millis)
    assert parsed == instant
    assert parsed is not None
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(True, id="bool"),
        pytest.param(False, id="false"),
        pytest.param("1721161640510", id="numeric string"),
        pytest.param(None, id="missing"),
        pytest.param(10**30, id="huge"),
        pytest.param(10**400, id="beyond float"),
        pytest.param(-(10**16), id="huge negative"),
        pytest.param(float("inf"), id="infinity"),
        pytest.param(float("nan"), id="nan"),
        pytest.param([1721161640510], id="list"),
    ],
)
def test_unreadable_epoch_millis_give_none(value: object) -> None:
    assert from_epoch_millis(value) is None
