"""The window a reconciliation run reads: no gaps between runs, 48 h at most, crash-safe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from emailhook.domain.reconciliation_plan import (
    DEFAULT_OVERLAP,
    LOG_RETENTION,
    RETENTION_MARGIN,
    ReconcileReport,
    ReconcileWindow,
    next_watermark,
    parse_since,
    plan_window,
)

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
OLDEST = NOW - LOG_RETENTION + RETENTION_MARGIN


def test_a_first_run_reads_all_that_infobip_keeps() -> None:
    assert plan_window(None, NOW) == ReconcileWindow(OLDEST, NOW)


def test_a_run_starts_an_overlap_before_the_watermark() -> None:
    watermark = NOW - timedelta(hours=1)
    window = plan_window(watermark, NOW)
    assert window == ReconcileWindow(watermark - DEFAULT_OVERLAP, NOW)
    custom = plan_window(watermark, NOW, overlap=timedelta(minutes=1))
    assert custom.since == watermark - timedelta(minutes=1)


def test_since_wins_over_the_watermark() -> None:
    watermark = NOW - timedelta(minutes=5)
    assert plan_window(watermark, NOW, timedelta(hours=3)).since == NOW - timedelta(hours=3)
    instant = NOW - timedelta(hours=2)
    assert plan_window(watermark, NOW, instant).since == instant


def test_a_watermark_older_than_the_logs_says_where_the_gap_is() -> None:
    watermark = NOW - timedelta(days=5)
    window = plan_window(watermark, NOW)
    assert (window.since, window.until) == (OLDEST, NOW)
    assert window.gap_before == watermark - DEFAULT_OVERLAP
    assert plan_window(None, NOW, parse_since("48h")).gap_before == NOW - timedelta(hours=48)
    assert plan_window(None, NOW, parse_since("47h")).gap_before is None


def test_a_watermark_ahead_of_the_clock_is_read_from_now() -> None:
    window = plan_window(NOW + timedelta(hours=1), NOW)
    assert window == ReconcileWindow(NOW - DEFAULT_OVERLAP, NOW)


def test_consecutive_runs_cover_time_without_gaps_even_after_a_crash() -> None:
    """Runs every 7 minutes for a day, every third one crashing: the union of the windows
    read by completed runs covers every instant since the first run's start."""
    now, watermark = NOW, None
    covered: list[ReconcileWindow] = []
    for run in range(200):
        window = plan_window(watermark, now)
        assert window.gap_before is None
        if run % 3 != 2:  # the others crash: the watermark stays where it was
            covered.append(window)
            watermark = next_watermark(window, [])
        now += timedelta(minutes=7)
    covered.sort(key=lambda w: w.since)
    reach = covered[0].until
    for window in covered[1:]:
        assert window.since < reach  # overlaps: no instant left unread
        reach = max(reach, window.until)
    assert reach == covered[-1].until


def test_a_pending_message_holds_the_watermark_back() -> None:
    window = ReconcileWindow(NOW - timedelta(hours=2), NOW)
    pending = [NOW - timedelta(minutes=30), NOW - timedelta(minutes=50)]
    assert next_watermark(window, pending) == NOW - timedelta(minutes=50)
    assert next_watermark(window, []) == NOW
    # never more than the hold, nor before the window
    old = [NOW - timedelta(hours=10)]
    assert next_watermark(window, old) == NOW - timedelta(hours=2)
    assert next_watermark(window, old, pending_hold=timedelta(hours=1)) == NOW - timedelta(hours=1)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        plan_window(None, datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="aware"):
        plan_window(datetime(2026, 1, 1), NOW)
    other_zone = NOW.astimezone(timezone(timedelta(hours=-3)))
    assert plan_window(other_zone - timedelta(hours=1), NOW).since == (
        NOW - timedelta(hours=1) - DEFAULT_OVERLAP
    )


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("48h", 172800), ("90m", 5400), ("2d", 172800), ("3600s", 3600), ("1h30m", 5400)],
)
def test_since_durations(text: str, seconds: int) -> None:
    assert parse_since(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "h", "48", "-1h", "0h", "1.5h", "1w", "4\uff18h", "9" * 40])
def test_bad_since_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_since(text)


def test_a_negative_since_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        plan_window(None, NOW, timedelta(0))


def test_the_report_counts_and_renders() -> None:
    report = ReconcileReport(ReconcileWindow(OLDEST, NOW))
    report.logs_read, report.events_new, report.events_known = 5, 2, 1
    report.skip("status PENDING is not final")
    report.skip("status PENDING is not final")
    report.skip("log item has no messageId")
    assert report.skipped_total == 3
    rendered = report.as_dict()
    assert rendered["skipped"] == {
        "log item has no messageId": 1,
        "status PENDING is not final": 2,
    }
    assert rendered["since"] == OLDEST.isoformat()
    assert rendered["completed"] is False
    assert rendered["logs_read"] == 5
