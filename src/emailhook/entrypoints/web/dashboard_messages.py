"""The dashboard's Messages pages: what was sent through the send API, read through the same
service as ``GET /messages``: the latest batches with their messages per state, the messages
filtered a page at a time, and one message's lifecycle (attempts, events, outcome)."""

from __future__ import annotations

from typing import Any

from flask import url_for

from emailhook.domain import message_outcomes as outcomes
from emailhook.entrypoints.web import params
from emailhook.entrypoints.web.dashboard_pages import page, pages_blueprint, query_args
from emailhook.entrypoints.web.services import current_services
from emailhook.service.send.messages import SentMessages

dashboard_messages = pages_blueprint("dashboard_messages", __name__)

PAGE_SIZE = 50
#: the largest page the ``limit`` parameter asks for
MAX_PAGE_SIZE = 500
#: batches shown above the messages
BATCHES_LIMIT = 10
#: the message filters a page keeps in its links
FILTERS = ("status", "batch_id", "email", "qj_contact_id", "limit")


def _messages() -> SentMessages:
    return current_services().send.messages


@dashboard_messages.get("/dashboard/messages")
def messages() -> str:
    """The outbox per state, the latest batches, and the messages filtered by state, batch,
    address or contact, newest first, a page at a time."""
    args = query_args()
    where = params.message_filter(args, default_limit=PAGE_SIZE, max_limit=MAX_PAGE_SIZE)
    service = _messages()
    found = service.page(where)
    counts = service.outbox_counts()
    filters: dict[str, Any] = {name: args[name] for name in FILTERS if name in args}
    cursor = found["next_cursor"]
    return page(
        "messages.html",
        where=where,
        states=params.SEND_STATES,
        counts=[(state, counts.get(state, 0)) for state in params.SEND_STATES],
        total=sum(counts.values()),
        batches=service.batches(BATCHES_LIMIT),
        items=found["items"],
        filtered=bool(filters),
        older=url_for(".messages", cursor=cursor, **filters) if cursor else None,
    )


@dashboard_messages.get("/dashboard/messages/<public_id>")
def message(public_id: str) -> str:
    """One message: its send state, the provider calls made for it, the events that came
    back (in the vocabulary) and the outcome flags they turned on."""
    found = _messages().get(public_id)
    outcome = found["outcome"] or {}
    return page(
        "message.html",
        m=found,
        flags=[(flag, outcome.get(flag)) for flag in outcomes.FLAGS],
    )
