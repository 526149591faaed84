"""The dashboard's chart: stacked bars that carry their counts, an area past the bar limit."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

from emailhook.domain.buckets import Bucket, Span
from emailhook.entrypoints.web.charts import BAR_LIMIT, minute_chart, status_chart

START = datetime(2026, 1, 1, tzinfo=UTC)
SVG = "{http://www.w3.org/2000/svg}"


def _days(n: int) -> Span:
    return Span(START, START + timedelta(days=n), Bucket.DAY)


def _bars(svg: str) -> list[tuple[str, int, str, float, float]]:
    root = ElementTree.fromstring(svg)
    found = []
    for bar in root.iter(f"{SVG}g"):
        if bar.get("class") != "bar":
            continue
        descs = {d.get("class"): d.text for d in bar.findall(f"{SVG}desc")}
        rect = bar.find(f"{SVG}rect")
        assert rect is not None
        found.append(
            (
                str(descs["label"]),
                int(str(descs["value"])),
                str(descs["x_label"]),
                float(rect.get("y", 0)),
                float(rect.get("height", 0)),
            )
        )
    return found


def test_each_non_zero_count_is_a_bar_stacked_on_the_ones_below_it() -> None:
    svg = status_chart(_days(3), {"DELIVERED": [6, 0, 3], "OPENED": [2, 4, 0], "CLICKED": [0] * 3})
    bars = _bars(svg)
    assert [(s, n, day) for s, n, day, _, _ in bars] == [
        ("DELIVERED", 6, "2026-01-01"),
        ("DELIVERED", 3, "2026-01-03"),
        ("OPENED", 2, "2026-01-01"),
        ("OPENED", 4, "2026-01-02"),
    ]
    (_, _, _, y_delivered, h_delivered), _, (_, _, _, y_opened, h_opened), _ = bars
    assert abs(h_delivered / h_opened - 3) < 0.01  # heights in proportion to the counts
    assert abs(y_opened + h_opened - y_delivered) < 0.2  # OPENED sits on DELIVERED
    assert "<title>DELIVERED, 2026-01-01: 6</title>" in svg  # the tooltip, no script
    assert "CLICKED" not in svg  # a status with no events is not in the legend
    assert "<script" not in svg


def test_the_axis_is_round_and_labels_thousands() -> None:
    svg = status_chart(_days(2), {"DELIVERED": [12_345, 40_000]})
    ticks = re.findall(r'text-anchor="end">([\d,]+)</text>', svg)
    assert ticks == ["0", "10,000", "20,000", "30,000", "40,000"]


def test_an_odd_status_is_escaped() -> None:
    svg = status_chart(_days(1), {"<bounce & co>": [1]})
    ElementTree.fromstring(svg)  # well-formed
    assert "&lt;bounce &amp; co&gt;" in svg


def test_past_the_bar_limit_each_status_is_one_area() -> None:
    span = Span(START, START + timedelta(hours=BAR_LIMIT + 1), Bucket.HOUR)
    svg = status_chart(span, {"DELIVERED": [1] * len(span), "OPENED": [2] * len(span)})
    assert _bars(svg) == []
    assert svg.count('class="area"') == 2


def test_an_empty_range_says_so() -> None:
    svg = status_chart(_days(7), {"DELIVERED": [0] * 7})
    assert "no events in this range" in svg
    assert _bars(svg) == []


def test_a_minute_chart_has_a_bar_a_minute_labelled_by_its_time_and_escapes_its_label() -> None:
    minutes = [START + timedelta(minutes=n) for n in range(3)]
    svg = minute_chart(minutes, {"sent": [4, 0, 7]}, "sent <per> minute")
    assert [(b[0], b[1], b[2]) for b in _bars(svg)] == [("sent", 4, "00:00"), ("sent", 7, "00:02")]
    assert 'aria-label="sent &lt;per&gt; minute"' in svg
    assert "nothing yet" in minute_chart(minutes, {"sent": [0, 0, 0]}, "sent")
