"""The dashboard's chart: an SVG written here on the server, no script, nothing fetched.

Events per status in each bucket, stacked: bars (up to ``BAR_LIMIT`` buckets), each with its
status, count and bucket (``desc.label``, ``desc.value``, ``desc.x_label``) and a native
tooltip (``<title>``); beyond, a stacked area, one path a status, the page's table giving the
numbers. Written directly rather than by a charting library: pygal, used before, spent about a
third of a millisecond a bar in its configuration lookups (113 ms for 30 days of 10 statuses),
the most of the dashboard's slowest page; this takes about 2 ms for the same chart.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from html import escape

from emailhook.domain.buckets import Bucket, Span
from emailhook.domain.vocabulary import EventType as T

#: the order (and colour) of event types in a chart: delivery, engagement, then trouble
STATUS_COLOURS: dict[str, str] = {
    T.DELIVERED: "#2e7d32",
    T.OPENED: "#66bb6a",
    T.CLICKED: "#1e88e5",
    T.QUEUED: "#9e9e9e",
    T.SENT: "#b0bec5",
    T.DEFERRED: "#ffb74d",
    T.AUTORESPONDED: "#90a4ae",
    T.BOUNCED: "#e53935",
    T.FAILED: "#fb8c00",
    T.REJECTED: "#8d6e63",
    T.UNSUBSCRIBED: "#8e24aa",
    T.SUBSCRIBED: "#26a69a",
    T.COMPLAINED: "#000000",
}
_OTHER_COLOUR = "#cfd8dc"
#: up to this many buckets a chart is stacked bars, each carrying its count; beyond, a stacked
#: area (bars of 31 days of hours would be a pixel wide)
BAR_LIMIT = 62
_LABEL_FORMAT = {Bucket.HOUR: "%m-%d %H:00", Bucket.DAY: "%Y-%m-%d"}

#: the canvas and the plot inside it, in SVG units
WIDTH, HEIGHT = 960, 360
_LEFT, _TOP, _RIGHT = 60, 10, 70  # room on the right for the last rotated label
_PLOT_HEIGHT = 250
_LEGEND_TOP = _TOP + _PLOT_HEIGHT + 62
_LEGEND_CHAR = 8.5  # about the width of a capital at the legend's 13 px
_X_LABELS = 12  # at most this many bucket labels under the axis
_GAP = 0.2  # the share of a bucket's width left between bars


def ordered_statuses(statuses: Sequence[str]) -> list[str]:
    """Return statuses in chart order; unknown ones last, alphabetically."""
    known = [s for s in STATUS_COLOURS if s in statuses]
    return known + sorted(s for s in statuses if s not in STATUS_COLOURS)


def colour(status: str) -> str:
    return STATUS_COLOURS.get(status, _OTHER_COLOUR)


def status_chart(span: Span, series: Mapping[str, list[int]]) -> str:
    """Return an inline SVG: events per event type (stacked) in each bucket of ``span``."""
    labels = [start.strftime(_LABEL_FORMAT[span.bucket]) for start in span.starts()]
    return _chart(labels, series, "events per event type", "no events in this range")


def minute_chart(minutes: Sequence[datetime], series: Mapping[str, list[int]], label: str) -> str:
    """Return an inline SVG: ``series`` (stacked) in each of ``minutes`` (a campaign's life)."""
    labels = [minute.strftime("%H:%M") for minute in minutes]
    return _chart(labels, series, label, "nothing yet")


def _chart(labels: list[str], series: Mapping[str, list[int]], label: str, empty: str) -> str:
    statuses = ordered_statuses([s for s in series if any(series[s])])
    totals = [sum(series[s][i] for s in statuses) for i in range(len(labels))]
    top = _nice_ceiling(max(totals, default=0))
    plot = _Plot(len(labels), top)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}"'
        f' class="status-chart" role="img" aria-label="{escape(label)}"'
        ' font-family="system-ui, sans-serif" font-size="11">',
        *_y_axis(plot, top),
        *_x_axis(plot, labels),
    ]
    if not statuses:
        parts.append(
            f'<text x="{_LEFT + plot.width / 2:.0f}" y="{_TOP + _PLOT_HEIGHT / 2:.0f}"'
            f' text-anchor="middle" font-size="28" fill="#607d8b">{escape(empty)}</text>'
        )
    elif len(labels) <= BAR_LIMIT:
        parts += _bars(plot, statuses, series, labels)
    else:
        parts += _areas(plot, statuses, series)
    parts += _legend(statuses)
    parts.append("</svg>")
    return "".join(parts)


class _Plot:
    """Where a bucket and a count fall on the canvas."""

    def __init__(self, buckets: int, top: int) -> None:
        self.width = WIDTH - _LEFT - _RIGHT
        self.step = self.width / max(1, buckets)
        self.top = max(1, top)

    def x(self, bucket: int) -> float:
        return _LEFT + bucket * self.step

    def y(self, count: float) -> float:
        return _TOP + _PLOT_HEIGHT * (1 - count / self.top)


def _y_axis(plot: _Plot, top: int) -> list[str]:
    step = _nice_step(top)
    parts = ['<g class="axis y">']
    for n in range(0, top + 1, step):
        y = plot.y(n)
        parts.append(
            f'<path d="M{_LEFT} {y:.1f}h{plot.width:.1f}" stroke="#b0bec5"'
            f' stroke-dasharray="{"" if n == 0 else "4,4"}" fill="none"/>'
            f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{n:,}</text>'
        )
    parts.append("</g>")
    return parts


def _x_axis(plot: _Plot, labels: list[str]) -> list[str]:
    every = max(1, math.ceil(len(labels) / _X_LABELS))
    parts = ['<g class="axis x">']
    y = _TOP + _PLOT_HEIGHT + 14
    for i in range(0, len(labels), every):
        x = plot.x(i) + plot.step / 2
        parts.append(
            f'<text x="{x:.1f}" y="{y}" transform="rotate(30 {x:.1f} {y})">{labels[i]}</text>'
        )
    parts.append("</g>")
    return parts


def _bars(
    plot: _Plot, statuses: list[str], series: Mapping[str, list[int]], labels: list[str]
) -> list[str]:
    width, below = plot.step * (1 - _GAP), [0] * len(labels)
    parts = []
    for n, status in enumerate(statuses):
        name = escape(status)
        parts.append(f'<g class="series serie-{n}" fill="{colour(status)}"><g class="bars">')
        for i, count in enumerate(series[status]):
            if not count:
                continue
            y_top, y_bottom = plot.y(below[i] + count), plot.y(below[i])
            below[i] += count
            parts.append(
                f'<g class="bar"><desc class="label">{name}</desc>'
                f'<rect x="{plot.x(i) + plot.step * _GAP / 2:.1f}" y="{y_top:.1f}"'
                f' width="{width:.1f}" height="{y_bottom - y_top:.1f}"/>'
                f'<desc class="value">{count}</desc><desc class="x_label">{labels[i]}</desc>'
                f"<title>{name}, {labels[i]}: {count:,}</title></g>"
            )
        parts.append("</g></g>")
    return parts


def _areas(plot: _Plot, statuses: list[str], series: Mapping[str, list[int]]) -> list[str]:
    buckets = len(series[statuses[0]])
    below, parts = [0] * buckets, []
    for n, status in enumerate(statuses):
        above = [b + c for b, c in zip(below, series[status], strict=True)]
        xs = [plot.x(i) + plot.step / 2 for i in range(buckets)]
        upper = " ".join(f"{x:.1f},{plot.y(v):.1f}" for x, v in zip(xs, above, strict=True))
        lower = " ".join(
            f"{x:.1f},{plot.y(v):.1f}" for x, v in reversed(list(zip(xs, below, strict=True)))
        )
        parts.append(
            f'<g class="series serie-{n}"><path class="area" d="M{upper} L{lower} Z"'
            f' fill="{colour(status)}" fill-opacity="0.8"><title>{escape(status)}</title>'
            "</path></g>"
        )
        below = above
    return parts


def _legend(statuses: list[str]) -> list[str]:
    parts, x, y = ['<g class="legends">'], float(_LEFT), _LEGEND_TOP
    for status in statuses:
        width = 17 + _LEGEND_CHAR * len(status) + 20
        if x + width > WIDTH and x > _LEFT:  # the next row
            x, y = float(_LEFT), y + 18
        parts.append(
            f'<g class="legend"><rect x="{x:.0f}" y="{y}" width="12" height="12"'
            f' fill="{colour(status)}"/><text x="{x + 17:.0f}" y="{y + 10}"'
            f' font-size="13">{escape(status)}</text></g>'
        )
        x += width
    parts.append("</g>")
    return parts


def _nice_step(top: int) -> int:
    """Return a round step (1, 2 or 5 times a power of ten) giving about five guides."""
    if top <= 5:
        return 1
    raw = top / 5
    power = 10 ** math.floor(math.log10(raw))
    return int(next(m * power for m in (1, 2, 5, 10) if m * power >= raw))


def _nice_ceiling(total: int) -> int:
    """Return the axis top: ``total`` rounded up to a whole step (at least 1)."""
    if total <= 0:
        return 1
    step = _nice_step(total)
    return math.ceil(total / step) * step
