"""The outbox in the database: messages committed by the send API, claimed by the relay and
the workers, and settled by what the provider answered."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from emailhook.adapters.db.models import Message, OutboxMessage, SendAttempt, table_of
from emailhook.domain.callback_data import callback_fields
from emailhook.domain.sending.message import FINAL_STATES, OutgoingMessage, SendState

#: states the relay and workers still act on
OPEN_STATES = (SendState.QUEUED, SendState.SCHEDULED, SendState.SENDING)


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


@dataclass(frozen=True, slots=True)
class Due:
    """A message the relay claimed: its id, provider and how many times it was published."""

    public_id: str
    provider: str
    deliveries: int


def add(session: Session, batch_id: str, messages: Sequence[NewMessage], now: datetime) -> None:
    """Commit ``messages`` to the outbox, each with its ``message`` row (the identity the
    receive side joins events to)."""
    outbox_rows: list[dict[str, Any]] = []
    message_rows: list[dict[str, Any]] = []
    for item in messages:
        message = item.message
        fields = callback_fields(dict(message.metadata))
        outbox_rows.append(
            {
                "public_id": message.public_id,
                "batch_id": batch_id,
                "provider": item.provider,
                "state": item.state.value,
                "category": message.category.value,
                "email": message.to.email,
                "qj_contact_id": fields["qj_contact_id"],
                "document": {**message.as_json(), "route": list(item.route or (item.provider,))},
                "due_at": item.due_at,
                "deliveries": 0,
                "attempts": 0,
                "reason": item.reason,
                "created_at": now,
                "updated_at": now,
                "sent_at": None,
            }
        )
        message_rows.append(
            {
                "public_id": message.public_id,
                "provider": item.provider,
                "email": message.to.email,
                "qj_contact_id": fields["qj_contact_id"],
                "campaign": fields["campaign"],
                "creditor_id": fields["creditor_id"],
                "creditor_name": fields["creditor_name"],
                "created_at": now,
            }
        )
    if outbox_rows:
        session.execute(table_of(OutboxMessage).insert(), outbox_rows)
        session.execute(table_of(Message).insert(), message_rows)


def _publishable(now: datetime, republish_before: datetime) -> tuple[Any, ...]:
    return (
        OutboxMessage.state.in_(OPEN_STATES),
        OutboxMessage.due_at <= now,
        or_(
            OutboxMessage.published_at.is_(None),
            OutboxMessage.published_at <= republish_before,
        ),
    )


def any_due(session: Session, now: datetime, republish_before: datetime) -> bool:
    """Return True when some message is due for publishing (a hint: claims check again)."""
    stmt = select(OutboxMessage.id).where(*_publishable(now, republish_before))
    return session.execute(stmt.limit(1)).first() is not None


def claim_due(
    session: Session, *, now: datetime, republish_before: datetime, limit: int
) -> list[Due]:
    """Mark up to ``limit`` due messages as published now and return them in order: those
    never published since they became due, and those published before ``republish_before``
    that are still due (the broker lost the task, or the worker died before taking it).

    On PostgreSQL SKIP LOCKED gives concurrent relays different rows; SQLite's write lock
    serializes them.
    """
    due = (
        select(OutboxMessage.id)
        .where(*_publishable(now, republish_before))
        .order_by(OutboxMessage.due_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    stmt = (
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(due.scalar_subquery()))
        .values(published_at=now, deliveries=OutboxMessage.deliveries + 1)
        .returning(
            OutboxMessage.id,
            OutboxMessage.public_id,
            OutboxMessage.provider,
            OutboxMessage.deliveries,
        )
    )
    rows = sorted(session.execute(stmt).all())
    return [Due(public_id, provider, deliveries) for _, public_id, provider, deliveries in rows]


def release(session: Session, public_ids: Sequence[str]) -> None:
    """Undo a claim whose publish failed: publishable again at once."""
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.public_id.in_(public_ids), OutboxMessage.state.in_(OPEN_STATES))
        .values(published_at=None, deliveries=OutboxMessage.deliveries - 1)
    )


@dataclass(frozen=True, slots=True)
class Claimed:
    """A message a worker took for a provider call: what it needs to send or settle it."""

    message: OutgoingMessage
    provider: str
    #: it was ``sending`` after a call had begun: the provider may have it
    uncertain: bool
    #: provider calls made before this take
    attempts: int
    #: when the last of them began
    attempted_at: datetime | None
    #: this take's hold (the message's ``due_at`` while this worker has it)
    held_until: datetime
    #: the providers it may go through, in order (failover)
    route: tuple[str, ...] = ()


def take(
    session: Session, public_ids: Sequence[str], *, now: datetime, hold_until: datetime
) -> list[Claimed]:
    """Take the due messages among ``public_ids`` for one worker: each is moved to
    ``sending``, due again only at ``hold_until`` (the call's bound) so no other worker takes
    it meanwhile. A message not due (another worker holds it, it was cancelled or sent) is
    left alone."""
    stmt = (
        select(OutboxMessage)
        .where(
            OutboxMessage.public_id.in_(public_ids),
            OutboxMessage.state.in_(OPEN_STATES),
            OutboxMessage.due_at <= now,
        )
        .order_by(OutboxMessage.id)
        .with_for_update(skip_locked=True)
    )
    taken: list[Claimed] = []
    for row in session.execute(stmt).scalars():
        taken.append(
            Claimed(
                OutgoingMessage.from_json(row.document),
                row.provider,
                row.state == SendState.SENDING and row.attempted_at is not None,
                row.attempts,
                row.attempted_at,
                hold_until,
                tuple(row.document.get("route") or (row.provider,)),
            )
        )
        row.state = SendState.SENDING.value
        row.due_at = hold_until
        row.published_at = None
        row.updated_at = now
    session.flush()
    return taken


def settle(
    session: Session,
    public_id: str,
    state: SendState,
    *,
    now: datetime,
    due_at: datetime | None = None,
    reason: str | None = None,
    provider_message_id: str | None = None,
) -> None:
    """Move a message to ``state`` (due again at ``due_at`` when it stays open)."""
    values: dict[str, Any] = {
        "state": state.value,
        "updated_at": now,
        "reason": reason,
        "published_at": None,
    }
    if due_at is not None:
        values["due_at"] = due_at
    if state is SendState.SENT:
        values["sent_at"] = now
        values["provider_message_id"] = provider_message_id
    session.execute(
        update(OutboxMessage).where(OutboxMessage.public_id == public_id).values(**values)
    )
    if state is SendState.SENT and provider_message_id is not None:
        session.execute(
            update(Message)
            .where(Message.public_id == public_id, Message.provider_message_id.is_(None))
            .values(provider_message_id=provider_message_id)
        )


def settle_sent(session: Session, sent: Sequence[tuple[str, str]], now: datetime) -> None:
    """Settle the messages a provider accepted, ``(public_id, provider_message_id)`` each,
    as ``settle(..., SendState.SENT)`` does one: two statements for a whole request (one a
    message cost a request of 100 a second and a half of a worker's time)."""
    if not sent:
        return
    rows = [{"id_": public_id, "provider_id": provider_id} for public_id, provider_id in sent]
    messages, table = table_of(Message), table_of(OutboxMessage)
    session.execute(
        update(table)
        .where(table.c.public_id == bindparam("id_"))
        .values(
            state=SendState.SENT.value,
            updated_at=now,
            reason=None,
            published_at=None,
            sent_at=now,
            provider_message_id=bindparam("provider_id"),
        ),
        rows,
    )
    session.execute(
        update(messages)
        .where(messages.c.public_id == bindparam("id_"), messages.c.provider_message_id.is_(None))
        .values(provider_message_id=bindparam("provider_id")),
        rows,
    )


def started(
    session: Session,
    public_ids: Sequence[str],
    now: datetime,
    *,
    held_until: datetime,
    hold_until: datetime,
) -> set[str]:
    """Count a provider call for those of ``public_ids`` this worker still holds (taken with
    ``held_until``, a fencing token: a worker that waited past its hold for a token may have
    lost them to another), holding them until ``hold_until``; return those ids. From now on
    the provider may have them, and a worker that dies mid-call leaves them to be settled."""
    rows = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.public_id.in_(public_ids),
            OutboxMessage.state == SendState.SENDING.value,
            OutboxMessage.due_at == held_until,
        )
        .values(
            attempts=OutboxMessage.attempts + 1,
            attempted_at=now,
            updated_at=now,
            due_at=hold_until,
        )
        .returning(OutboxMessage.public_id)
    ).all()
    return {public_id for (public_id,) in rows}


def reroute(session: Session, public_ids: Sequence[str], provider: str, now: datetime) -> None:
    """Hand messages no provider has had yet to ``provider`` (the next of their route)."""
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.public_id.in_(public_ids))
        .values(provider=provider, updated_at=now)
    )
    session.execute(
        update(Message).where(Message.public_id.in_(public_ids)).values(provider=provider)
    )


def record_attempts(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Keep one ``send_attempt`` row per message and call."""
    if rows:
        session.execute(table_of(SendAttempt).insert(), list(rows))


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
