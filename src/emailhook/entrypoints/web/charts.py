"""The dashboard's charts: SVG rendered on the server by pygal, no script, nothing fetched."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pygal
from pygal.style import Style

from emailhook.domain.buckets import Bucket, Span
from emailhook.domain.statuses import InfobipStatus as S

#: the order (and colour) of statuses in a chart: delivery, engagement, then trouble
STATUS_COLOURS: dict[str, str] = {
    S.DELIVERED: "#2e7d32",
    S.OPENED: "#66bb6a",
    S.CLICKED: "#1e88e5",
    S.PENDING: "#9e9e9e",
    S.UNDELIVERABLE: "#e53935",
    S.LATE_BOUNCE: "#b71c1c",
    S.EXPIRED: "#fb8c00",
    S.REJECTED: "#8d6e63",
    S.UNSUBSCRIBED: "#8e24aa",
    S.COMPLAINED: "#000000",
}
_OTHER_COLOUR = "#cfd8dc"
#: up to this many buckets a chart is stacked bars, each carrying its count; beyond, a stacked
#: area: pygal spends about half a millisecond per bar, too long for 31 days of hours
BAR_LIMIT = 62
_LABEL_FORMAT = {Bucket.HOUR: "%m-%d %H:00", Bucket.DAY: "%Y-%m-%d"}


def ordered_statuses(statuses: Sequence[str]) -> list[str]:
    """Return statuses in chart order; unknown ones last, alphabetically."""
    known = [s for s in STATUS_COLOURS if s in statuses]
    return known + sorted(s for s in statuses if s not in STATUS_COLOURS)


def status_chart(span: Span, series: Mapping[str, list[int]]) -> str:
    """Return an inline SVG: events per status (stacked) in each bucket of ``span``.

    As bars (up to BAR_LIMIT buckets), each non-zero bar carries its status and count
    (``desc.label``, ``desc.value``); as an area beyond, the page's table has the numbers.
    """
    statuses = ordered_statuses(list(series))
    style = Style(
        background="transparent",
        plot_background="transparent",
        font_family="system-ui, sans-serif",
        colors=tuple(STATUS_COLOURS.get(s, _OTHER_COLOUR) for s in statuses) or ("#999",),
    )
    labels = [start.strftime(_LABEL_FORMAT[span.bucket]) for start in span.starts()]
    bars = len(span) <= BAR_LIMIT
    kind = pygal.StackedBar if bars else pygal.StackedLine
    chart = kind(
        style=style,
        width=960,
        height=360,
        js=[],  # pygal's default fetches a tooltip script from the internet: none here
        disable_xml_declaration=True,
        truncate_legend=-1,
        legend_at_bottom=True,
        x_label_rotation=30,
        show_minor_x_labels=False,
        x_labels_major_every=max(1, len(labels) // 12),
        print_zeroes=False,
        no_data_text="no events in this range",
        margin=10,
        **({} if bars else {"fill": True, "show_dots": False}),
    )
    chart.x_labels = labels
    for status in statuses:
        if bars:
            chart.add(
                status, [{"value": n, "label": status} if n else None for n in series[status]]
            )
        else:
            chart.add(status, series[status])
    return str(chart.render(is_unicode=True))
