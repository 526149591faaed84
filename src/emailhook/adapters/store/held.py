"""The messages a send worker holds: taken from the outbox for one provider call, marked
started, settled by what the provider answered (or moved to the next provider), and each
attempt kept."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from emailhook.adapters.db.models import Message, OutboxMessage, SendAttempt, table_of
from emailhook.adapters.store import campaign_tally
from emailhook.adapters.store.outbox import OPEN_STATES
from emailhook.adapters.store.outbox_claims import may_go
from emailhook.adapters.store.whole_messages import WholeMessages
from emailhook.domain.sending.message import OutgoingMessage, SendState


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
    it meanwhile. A message not due (another worker holds it, it was cancelled or sent, its
    campaign was paused or cancelled since it was published) is left alone."""
    stmt = (
        select(OutboxMessage)
        .where(
            OutboxMessage.public_id.in_(public_ids),
            OutboxMessage.state.in_(OPEN_STATES),
            OutboxMessage.due_at <= now,
            may_go(),
        )
        .order_by(OutboxMessage.id)
        .with_for_update(skip_locked=True)
    )
    taken: list[Claimed] = []
    messages = WholeMessages(session)
    for row in session.execute(stmt).scalars():
        taken.append(
            Claimed(
                messages.message(row),
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
    if state is SendState.SENT:
        campaign_tally.add_sent(session, [public_id], now)
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
    campaign_tally.add_sent(session, [public_id for public_id, _ in sent], now)


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
