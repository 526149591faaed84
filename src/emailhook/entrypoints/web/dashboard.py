"""The dashboard: server-rendered pages for the people who run the campaigns.

Each view reads its parameters, calls read-only queries and renders a template; the replay
button is the only write, POST only, from the dashboard's own pages. Every route asks for
operator credentials (``entrypoints.web.operators``) when any are configured.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import orjson
from flask import g, redirect, request, url_for
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response as WerkzeugResponse

from emailhook.adapters.reads import dashboard as dq
from emailhook.adapters.reads import queries, stats
from emailhook.adapters.store import reconciliation
from emailhook.domain import message_outcomes as outcomes
from emailhook.domain.buckets import series
from emailhook.domain.clock import utcnow
from emailhook.domain.inbox import BodyState
from emailhook.domain.statuses import EVENT_STATUSES
from emailhook.domain.suppression import SuppressionReason
from emailhook.entrypoints.web import charts, params
from emailhook.entrypoints.web.dashboard_forms import (
    PRESETS,
    range_choice,
    search_term,
    sort_choice,
)
from emailhook.entrypoints.web.dashboard_pages import page, pages_blueprint, query_args, reader
from emailhook.entrypoints.web.operators import require_same_origin
from emailhook.entrypoints.web.services import current_services

log = logging.getLogger("emailhook.dashboard")

dashboard = pages_blueprint("dashboard", __name__)

PAGE_SIZE = 50
TIMELINE_LIMIT = 500
DEAD_LIMIT = 100
#: reconciliation runs the pipeline page shows
RUNS_LIMIT = 10
#: what the campaign table sorts by: a rate, or a count
SORT_COLUMNS = ["name", "events", "messages", "final", "delivered", *outcomes.RATE_NAMES]
#: the campaign page's ``by`` -> ``GET /stats``'s ``by``
CAMPAIGN_GROUPINGS = {
    "campaign": "campaign",
    "creditor": "creditor",
    "campaign_creditor": "campaign,creditor",
    "provider": "provider",
}
#: each rate and what it divides, for the pages that explain them
RATE_DEFINITIONS = [
    (r.name, f"messages {r.numerator} / messages {r.denominator}") for r in outcomes.RATES
]


@dashboard.get("/")
def overview() -> str:
    """Events per event type over time (each provider's own names as detail), and the rates
    of the range's messages."""
    choice = range_choice(query_args(), utcnow())
    start, end = choice.span.start, choice.span.end
    with reader().begin() as session:
        hourly = dq.hourly_counts(session, start, end)
        detail = dq.provider_detail(session, start, end)
        total = stats.stats(session, since=start, until=end).total
    per_type = series(choice.span, hourly)
    totals = {event_type: sum(counts) for event_type, counts in per_type.items()}
    return page(
        "overview.html",
        choice=choice,
        presets=PRESETS,
        chart=charts.status_chart(choice.span, per_type),
        bars=len(choice.span) <= charts.BAR_LIMIT,
        totals=[(t, totals[t], detail.get(t, {})) for t in charts.ordered_statuses(list(totals))],
        rates=outcomes.rates(total.messages),
        messages=total.messages,
        definitions=RATE_DEFINITIONS,
    )


@dashboard.get("/dashboard/campaigns")
def campaigns() -> str:
    """The rates per campaign, creditor, or both, sortable: the worst one is a click away."""
    choice = range_choice(query_args(), utcnow())
    grouping = params.choice(query_args(), "by", list(CAMPAIGN_GROUPINGS)) or "campaign"
    column, descending = sort_choice(query_args(), SORT_COLUMNS, "bounce")
    with reader().begin() as session:
        found = stats.stats(
            session,
            since=choice.span.start,
            until=choice.span.end,
            by=CAMPAIGN_GROUPINGS[grouping],
        )
    rows = [GroupRow.of(group) for group in found.groups]
    return page(
        "campaigns.html",
        choice=choice,
        presets=PRESETS,
        grouping=grouping,
        groupings=list(CAMPAIGN_GROUPINGS),
        columns=dq.GROUPINGS[grouping],
        rows=_sorted(rows, column, descending),
        sort=column,
        descending=descending,
        rate_names=outcomes.RATE_NAMES,
        definitions=RATE_DEFINITIONS,
    )


@dashboard.get("/dashboard/events")
def events() -> str:
    """The latest events, filtered, each with its raw event."""
    args = query_args()
    where = params.callback_filter(args)
    before = params.integer(args, "before", minimum=1)
    with reader().begin() as session:
        items, more = dq.latest_events(session, where, limit=PAGE_SIZE, before_id=before)
    filters = {k: v for k, v in args.items() if k != "before" and v}
    return page(
        "events.html",
        where=where,
        filters=filters,
        items=[(item, _pretty(item.raw)) for item in items],
        older=items[-1].event.id if more else None,
        statuses=EVENT_STATUSES,
        providers=params.PROVIDER_NAMES,
        event_types=params.EVENT_TYPES,
        bounce_classes=params.BOUNCE_CLASSES,
    )


@dashboard.get("/dashboard/contact")
def contact() -> str:
    """One contact (by qj_contact_id) or address: derived status and timeline of events."""
    contact_id, email = search_term(query_args())
    emails: list[queries.ContactEmail] = []
    timeline: list[queries.Callback] = []
    more = False
    if contact_id is not None or email is not None:
        with reader().begin() as session:
            if contact_id is not None:
                emails = queries.contact_emails(session, contact_id)
            else:
                for found in dq.contacts_with_email(session, email or ""):
                    emails += [
                        e for e in queries.contact_emails(session, found) if e.email == email
                    ]
            where = queries.CallbackFilter(qj_contact_id=contact_id, email=email)
            timeline, more = queries.list_callbacks(
                session, where, limit=TIMELINE_LIMIT, before_id=None
            )
        timeline.sort(key=lambda e: (e.event_at or e.data_recebimento, e.id))
    return page(
        "contact.html",
        q=query_args().get("q", ""),
        contact_id=contact_id,
        email=email,
        emails=emails,
        timeline=timeline,
        more=more,
        limit=TIMELINE_LIMIT,
    )


@dashboard.get("/dashboard/suppressions")
def suppressions() -> str:
    """The suppression list, a page at a time, with the CSV download."""
    reason = params.choice(query_args(), "reason", list(SuppressionReason))
    after = params.text(query_args(), "after")
    with reader().begin() as session:
        items, more = queries.list_suppressions(
            session, reason=reason, limit=PAGE_SIZE, after_email=after
        )
    csv_args: dict[str, Any] = {"format": "csv", **({"reason": reason} if reason else {})}
    return page(
        "suppressions.html",
        items=items,
        reason=reason,
        reasons=list(SuppressionReason),
        next_after=items[-1].email if more else None,
        csv_url=url_for("api.list_suppressions", **csv_args),
        removed=params.text(query_args(), "removed"),
    )


@dashboard.post("/dashboard/suppressions/remove")
def remove_suppression() -> WerkzeugResponse:
    """Take an address off the suppression list, with a reason; only from the dashboard."""
    require_same_origin(request.headers.get("Origin"), request.headers.get("Referer"), request.host)
    email = request.form.get("email", "")
    removal = current_services().operations.remove_suppression(
        email, reason=request.form.get("reason", ""), operator=g.operator
    )
    log.info("suppression of an address removed from the dashboard by %s", g.operator or "-")
    return redirect(url_for("dashboard.suppressions", removed=removal.email), code=303)


@dashboard.get("/dashboard/pipeline")
def pipeline() -> str:
    """Accepted, processed, backlog and dead-lettered bodies, with a replay button each."""
    operations = current_services().operations
    backlog = operations.backlog()
    dead = operations.list_bodies([BodyState.DEAD], limit=DEAD_LIMIT)
    with reader().begin() as session:
        runs = reconciliation.latest_runs(session, RUNS_LIMIT)
    return page(
        "pipeline.html",
        counts=backlog.bodies,
        stored=backlog.events_stored,
        dead=dead,
        runs=runs,
        reconciling=current_services().settings.infobip_api is not None,
        replayed=params.integer(query_args(), "replayed", minimum=1),
    )


@dashboard.post("/dashboard/replay/<int:body_id>")
def replay(body_id: int) -> WerkzeugResponse:
    """Queue a dead-lettered (or unrecognized) body again; only from the dashboard's pages."""
    require_same_origin(request.headers.get("Origin"), request.headers.get("Referer"), request.host)
    if not current_services().operations.replay_failed(body_id):
        raise NotFound(f"no dead-lettered or unrecognized body {body_id}")
    log.info("body %d queued again from the dashboard by %s", body_id, g.operator or "-")
    return redirect(url_for("dashboard.pipeline", replayed=body_id), code=303)


@dataclass(frozen=True, slots=True)
class GroupRow:
    """One line of the campaign table: a group's names, event total, message counts, rates."""

    names: tuple[str, ...]
    events: int
    messages: dict[str, int]
    rates: dict[str, float | None]

    @classmethod
    def of(cls, group: stats.Group) -> GroupRow:
        return cls(
            tuple(group.key.values()),
            sum(group.events.values()),
            dict(group.messages),
            outcomes.rates(group.messages),
        )

    @property
    def name(self) -> str:
        return " / ".join(self.names)

    def value(self, column: str) -> float | str | None:
        if column == "name":
            return self.name
        if column == "events":
            return self.events
        if column in self.messages:
            return self.messages[column]
        return self.rates[column]


def _sorted(rows: list[GroupRow], column: str, descending: bool) -> list[GroupRow]:
    """Sort by ``column``, then name; rows without a value (nothing to divide by) go last."""
    present = [r for r in rows if r.value(column) is not None]
    present.sort(key=lambda r: (r.value(column), r.name), reverse=descending)
    absent = sorted((r for r in rows if r.value(column) is None), key=lambda r: r.name)
    return present + absent


def _pretty(raw: dict[str, Any]) -> str:
    try:
        return orjson.dumps(raw, option=orjson.OPT_INDENT_2).decode()
    except TypeError:  # an integer beyond 64 bits, which orjson does not write
        return json.dumps(raw, indent=2, ensure_ascii=False)
