"""Reads of the messages we send: one message with its attempts and events, and pages of
messages by batch, contact or state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from emailhook.adapters.db.models import EmailCallback, Message, OutboxMessage, SendAttempt
from emailhook.adapters.store.message_join import COLUMN_OF
from emailhook.adapters.store.whole_messages import WholeMessages


@dataclass(frozen=True, slots=True)
class MessageFilter:
    batch_id: str | None = None
    qj_contact_id: int | None = None
    status: str | None = None
    email: str | None = None
    #: the id of the last item of the previous page (newest first)
    before_id: int | None = None
    limit: int = 100


def summary(row: OutboxMessage, outcome: Message | None, whole: WholeMessages) -> dict[str, Any]:
    """Return a message as a list item: its send state and what came of it."""
    document = whole.document(row)
    return {
        "id": row.public_id,
        "batch_id": row.batch_id,
        "to": row.email,
        "status": row.state,
        "reason": row.reason,
        "provider": row.provider,
        "provider_message_id": row.provider_message_id,
        "category": row.category,
        "qj_contact_id": row.qj_contact_id,
        "subject": document.get("subject"),
        "metadata": document.get("metadata") or {},
        "created_at": row.created_at,
        "send_at": document.get("send_at"),
        "sent_at": row.sent_at,
        "attempt_count": row.attempts,
        "outcome": _outcome(outcome),
    }


def get_message(session: Session, public_id: str) -> dict[str, Any] | None:
    """Return one message with its attempts and its events (in the vocabulary), or None."""
    row = session.execute(
        select(OutboxMessage).where(OutboxMessage.public_id == public_id)
    ).scalar_one_or_none()
    if row is None:
        return None
    outcome = session.execute(
        select(Message).where(Message.public_id == public_id)
    ).scalar_one_or_none()
    item = summary(row, outcome, WholeMessages(session))
    attempts = session.execute(
        select(SendAttempt).where(SendAttempt.public_id == public_id).order_by(SendAttempt.id)
    ).scalars()
    item["attempts"] = [
        {
            "at": a.at,
            "provider": a.provider,
            "action": a.action,
            "outcome": a.outcome,
            "http_status": a.http_status,
            "reason": a.reason,
            "seconds": a.seconds,
        }
        for a in attempts
    ]
    item["events"] = _events(session, row, outcome)
    return item


def _events(session: Session, row: OutboxMessage, outcome: Message | None) -> list[dict[str, Any]]:
    """The events of a message: those naming our id (Infobip's ``messageId``, our own
    one-click unsubscribe) or the provider's id, to its recipient. A provider's event may
    name the id its send answered with a suffix after a dot (SendGrid's ``sg_message_id`` is
    the ``X-Message-Id`` and ``.filter...``): those are its events too."""
    provider_ids = set()
    if row.provider_message_id:
        provider_ids.add(row.provider_message_id)
    if outcome is not None and outcome.provider_message_id:
        provider_ids.add(outcome.provider_message_id)
    named: list[ColumnElement[bool]] = [
        EmailCallback.id_externo.in_(sorted({row.public_id, *provider_ids}))
    ]
    named += [
        EmailCallback.id_externo.startswith(f"{known}.", autoescape=True)
        for known in sorted(provider_ids)
    ]
    stmt = (
        select(EmailCallback)
        .where(or_(*named), EmailCallback.email == row.email)
        .order_by(EmailCallback.data_recebimento, EmailCallback.id)
        .limit(1000)
    )
    return [
        {
            "id": e.id,
            "provider": e.provider,
            "event_type": e.event_type,
            "status": e.status,
            "bounce_class": e.bounce_class,
            "reject_reason": e.reject_reason,
            "event_at": e.event_at,
            "received_at": e.data_recebimento,
            "url": e.url,
        }
        for e in session.execute(stmt).scalars()
    ]


def list_messages(
    session: Session, where: MessageFilter
) -> tuple[list[dict[str, Any]], int | None]:
    """Return a page of messages, newest first, and the cursor of the next page (or None)."""
    stmt = select(OutboxMessage, Message).outerjoin(
        Message, Message.public_id == OutboxMessage.public_id
    )
    if where.batch_id is not None:
        stmt = stmt.where(OutboxMessage.batch_id == where.batch_id)
    if where.qj_contact_id is not None:
        stmt = stmt.where(OutboxMessage.qj_contact_id == where.qj_contact_id)
    if where.status is not None:
        stmt = stmt.where(OutboxMessage.state == where.status)
    if where.email is not None:
        stmt = stmt.where(OutboxMessage.email == where.email)
    if where.before_id is not None:
        stmt = stmt.where(OutboxMessage.id < where.before_id)
    rows = session.execute(stmt.order_by(OutboxMessage.id.desc()).limit(where.limit + 1)).all()
    page = rows[: where.limit]
    cursor = page[-1][0].id if len(rows) > where.limit else None
    whole = WholeMessages(session)
    return [summary(row, outcome, whole) for row, outcome in page], cursor


def batches(session: Session, limit: int = 50) -> Sequence[Any]:
    """Return the latest batches: id, when, provider and messages per state."""
    latest = (
        select(OutboxMessage.batch_id, func.max(OutboxMessage.id).label("last"))
        .group_by(OutboxMessage.batch_id)
        .order_by(func.max(OutboxMessage.id).desc())
        .limit(limit)
        .subquery()
    )
    stmt = (
        select(
            OutboxMessage.batch_id,
            func.min(OutboxMessage.created_at),
            func.min(OutboxMessage.provider),
            OutboxMessage.state,
            func.count(),
        )
        .where(OutboxMessage.batch_id.in_(select(latest.c.batch_id)))
        .group_by(OutboxMessage.batch_id, OutboxMessage.state)
    )
    return session.execute(stmt).all()


def _outcome(message: Message | None) -> dict[str, datetime | None] | None:
    """What the events say of a message: each outcome's first time (None: not yet)."""
    if message is None:
        return None
    flags = {name: getattr(message, COLUMN_OF[name]) for name in COLUMN_OF if name != "messages"}
    flags.pop("final", None)
    return {name: value for name, value in flags.items() if value is not None} or None
