"""The dashboard's campaign sends (``POST /campaigns``; not the Campaigns page, which groups
the events by the campaign named in their metadata): the latest campaigns, and one campaign's
progress, its outcomes per minute, its guards' rates beside their thresholds and why it is
paused, with pause, resume and cancel buttons. The page reloads itself (a meta refresh: no
script runs on the dashboard) while the campaign can still change.

The buttons post, from the dashboard's own pages only (``require_same_origin``), to the same
service as ``POST /campaigns/<id>/pause|resume|cancel``.
"""

from __future__ import annotations

import logging
from datetime import datetime

from flask import g, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from emailhook.composition.send import SendWeb
from emailhook.domain.sending.campaign import CampaignState
from emailhook.entrypoints.web import charts, params
from emailhook.entrypoints.web.dashboard_pages import page, pages_blueprint, query_args
from emailhook.entrypoints.web.operators import require_same_origin
from emailhook.entrypoints.web.services import current_services
from emailhook.service.errors import InvalidRequestError

log = logging.getLogger("emailhook.dashboard")

dashboard_sends = pages_blueprint("dashboard_sends", __name__)

#: campaigns the list shows
LIST_LIMIT = 50
#: seconds between the reloads of a page whose campaign can still change
REFRESH_SECONDS = 5
#: the longest pause reason an operator types
MAX_REASON_CHARS = 500
#: the progress counts, in the order of a message's life: (label, outbox state)
PROGRESS = [
    ("queued", "queued"),
    ("scheduled", "scheduled"),
    ("sending", "sending"),
    ("sent", "sent"),
    ("suppressed", "suppressed"),
    ("rejected", "rejected"),
    ("failed", "failed"),
    ("dead", "dead"),
    ("cancelled", "cancelled"),
]
#: the tally's counts the list shows: (label, count)
LIST_COUNTS = [
    ("sent", "sent"),
    ("delivered", "delivered"),
    ("bounced", "bounced"),
    ("complained", "complained"),
    ("unsubscribed", "unsubscribed"),
]
#: what a button did, as its redirect says (``?done=``)
DONE = ("paused", "resumed", "cancelled")
#: the series of the outcomes chart (``sent`` has a chart of its own)
OUTCOMES = ("delivered", "bounced", "complained", "unsubscribed")


def _send() -> SendWeb:
    return current_services().send


@dashboard_sends.get("/dashboard/sends")
def sends() -> str:
    """The latest campaigns: state, messages per state, rate, and why each paused one is."""
    return page(
        "sends.html",
        items=_send().progress.latest(LIST_LIMIT),
        counts=LIST_COUNTS,
        refresh=REFRESH_SECONDS,
    )


@dashboard_sends.get("/dashboard/sends/<public_id>")
def send(public_id: str) -> str:
    """One campaign, live: its progress, outcomes per minute, guards and buttons."""
    shown = _send().campaigns.show(public_id)
    progress = _send().progress
    tally = progress.tally(public_id, datetime.fromisoformat(shown["created_at"]))
    outcomes = {name: tally.series[name] for name in OUTCOMES}
    live = shown["state"] != CampaignState.CANCELLED.value and query_args().get("live") != "0"
    return page(
        "send.html",
        c=shown,
        message=progress.message(public_id),
        progress=[(label, shown["messages"].get(state, 0)) for label, state in PROGRESS],
        tally=tally.totals,
        sent_chart=charts.minute_chart(
            tally.minutes, {"sent": tally.series["sent"]}, "messages sent per minute"
        ),
        outcome_chart=charts.minute_chart(
            tally.minutes, outcomes, "outcomes of the messages sent each minute"
        ),
        first_minute=tally.minutes[0],
        last_minute=tally.minutes[-1],
        refresh=REFRESH_SECONDS if live else None,
        done=params.choice(query_args(), "done", list(DONE)),
        max_reason=MAX_REASON_CHARS,
    )


@dashboard_sends.post("/dashboard/sends/<public_id>/pause")
def pause(public_id: str) -> WerkzeugResponse:
    """Pause the campaign, with the operator's reason."""
    _from_the_dashboard()
    reason = request.form.get("reason", "").strip()[:MAX_REASON_CHARS]
    operator = g.operator or "an operator"
    _send().campaigns.pause(public_id, f"{reason or 'paused'} ({operator}, dashboard)")
    log.info("campaign %s paused from the dashboard by %s", public_id, g.operator or "-")
    return _back(public_id, "paused")


@dashboard_sends.post("/dashboard/sends/<public_id>/resume")
def resume(public_id: str) -> WerkzeugResponse:
    """Resume the campaign: each message not yet sent is sent once."""
    _from_the_dashboard()
    _send().campaigns.resume(public_id)
    log.info("campaign %s resumed from the dashboard by %s", public_id, g.operator or "-")
    return _back(public_id, "resumed")


@dashboard_sends.post("/dashboard/sends/<public_id>/cancel")
def cancel(public_id: str) -> WerkzeugResponse:
    """Cancel the campaign, once the operator ticked the confirmation."""
    _from_the_dashboard()
    if request.form.get("confirm") != "yes":
        raise InvalidRequestError(
            "cancelling needs confirming", {"confirm": ["tick the box to cancel the campaign"]}
        )
    _send().campaigns.cancel(public_id)
    log.info("campaign %s cancelled from the dashboard by %s", public_id, g.operator or "-")
    return _back(public_id, "cancelled")


def _from_the_dashboard() -> None:
    require_same_origin(request.headers.get("Origin"), request.headers.get("Referer"), request.host)


def _back(public_id: str, done: str) -> WerkzeugResponse:
    return redirect(url_for(".send", public_id=public_id, done=done), code=303)
