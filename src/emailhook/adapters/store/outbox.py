"""The outbox in the database: messages committed by the send API, cancelled and counted.
What the relay claims to publish: ``outbox_claims.py``; what a worker does to the messages
it holds: ``held.py``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from emailhook.adapters.db.models import Message, OutboxMessage, table_of
from emailhook.domain.callback_data import sent_fields
from emailhook.domain.sending.campaign_message import own_part
from emailhook.domain.sending.guards import sender_domain
from emailhook.domain.sending.message import FINAL_STATES, OutgoingMessage, SendState

#: states the relay and workers still act on
OPEN_STATES = (SendState.QUEUED, SendState.SCHEDULED, SendState.SENDING)
SENDING = SendState.SENDING.value
#: the open states written as literals: a partial index on them (``ix_outbox_due``,
#: ``ix_outbox_campaign_due``) serves a query only when it names them so (SQLite does not
#: match bound parameters against an index's condition, and sorted a campaign's million)
OPEN = text("outbox.state IN (" + ", ".join(f"'{state.value}'" for state in OPEN_STATES) + ")")


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message the send API accepted, as the outbox keeps it."""

    message: OutgoingMessage
    provider: str
    state: SendState
    due_at: datetime
    reason: str | None = None
    #: the providers it may go through, in order (failover); its ``provider`` first
    route: tuple[str, ...] = ()


def add(
    session: Session,
    batch_id: str,
    messages: Sequence[NewMessage],
    now: datetime,
    *,
    campaign_id: str | None = None,
) -> None:
    """Commit ``messages`` to the outbox, each with its ``message`` row (the identity the
    receive side joins events to); ``campaign_id``: the campaign they are messages of."""
    outbox_rows: list[dict[str, Any]] = []
    message_rows: list[dict[str, Any]] = []
    for item in messages:
        fields = sent_fields(item.message.metadata)
        outbox_rows.append(outbox_row(item, batch_id, campaign_id, fields, now))
        message_rows.append(message_row(item, fields, now))
    if outbox_rows:
        session.execute(table_of(OutboxMessage).insert(), outbox_rows)
        session.execute(table_of(Message).insert(), message_rows)


def outbox_row(
    item: NewMessage,
    batch_id: str,
    campaign_id: str | None,
    fields: tuple[int | None, str | None, str | None, str | None],
    now: datetime,
    shared: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Return ``item``'s outbox row (``fields``: its metadata's ``sent_fields``); with its
    campaign's ``shared`` message, the row keeps only the message's own part of it."""
    message = item.message
    document = message.as_json() if shared is None else own_part(message, shared)
    return {
        "public_id": message.public_id,
        "batch_id": batch_id,
        "campaign_id": campaign_id,
        "provider": item.provider,
        "state": item.state.value,
        "category": message.category.value,
        "email": message.to.email,
        "qj_contact_id": fields[0],
        "document": {**document, "route": list(item.route or (item.provider,))},
        "due_at": item.due_at,
        "deliveries": 0,
        "attempts": 0,
        "reason": item.reason,
        "created_at": now,
        "updated_at": now,
        "sent_at": None,
        "sender_domain": sender_domain(message.from_email),
    }


def message_row(
    item: NewMessage,
    fields: tuple[int | None, str | None, str | None, str | None],
    now: datetime,
) -> dict[str, Any]:
    """Return ``item``'s ``message`` row: the identity the receive side joins events to."""
    contact, campaign, creditor_id, creditor_name = fields
    return {
        "public_id": item.message.public_id,
        "provider": item.provider,
        "email": item.message.to.email,
        "qj_contact_id": contact,
        "campaign": campaign,
        "creditor_id": creditor_id,
        "creditor_name": creditor_name,
        "created_at": now,
    }


def cancel(session: Session, public_id: str, now: datetime) -> SendState | None:
    """Cancel a queued or scheduled message; return its state after (None: no such message)."""
    row = session.execute(
        select(OutboxMessage).where(OutboxMessage.public_id == public_id).with_for_update()
    ).scalar_one_or_none()
    if row is None:
        return None
    if row.state in (SendState.QUEUED, SendState.SCHEDULED):
        row.state = SendState.CANCELLED.value
        row.updated_at = now
        row.reason = "cancelled by the sender"
        return SendState.CANCELLED
    return SendState(row.state)


def counts_by_state(session: Session) -> dict[str, int]:
    """Return how many messages the outbox holds in each state."""
    stmt = select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
    return {state: int(n) for state, n in session.execute(stmt).all()}


def is_final(state: str) -> bool:
    return SendState(state) in FINAL_STATES
