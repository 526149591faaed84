"""A campaign's report: each recipient's message, what became of it at the send and what its
events said, read a chunk at a time in address order (the campaign's unique ``(campaign_id,
email)`` index: a million rows without a sort or an offset)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from emailhook.adapters.db.models import Message, OutboxMessage

#: the report's columns: the message, then each outcome's first time (empty: not heard)
COLUMNS = (
    "email",
    "qj_contact_id",
    "message_id",
    "status",
    "reason",
    "provider",
    "provider_message_id",
    "sent_at",
    "delivered_at",
    "bounced_at",
    "rejected_at",
    "failed_at",
    "opened_at",
    "clicked_at",
    "complained_at",
    "unsubscribed_at",
)
#: rows read a transaction
CHUNK = 5000

_SELECTED = (
    OutboxMessage.email,
    OutboxMessage.qj_contact_id,
    OutboxMessage.public_id,
    OutboxMessage.state,
    OutboxMessage.reason,
    OutboxMessage.provider,
    OutboxMessage.provider_message_id,
    OutboxMessage.sent_at,
    Message.delivered_at,
    Message.bounced_at,
    Message.rejected_at,
    Message.failed_at,
    Message.opened_at,
    Message.clicked_at,
    Message.complained_at,
    Message.unsubscribed_at,
)


def report_chunks(
    sessions: sessionmaker[Session], public_id: str, chunk: int = CHUNK
) -> Iterator[list[tuple[object, ...]]]:
    """Yield the rows of campaign ``public_id``'s report (``COLUMNS``), ``chunk`` a
    transaction, by address; times as ISO 8601 text."""
    after = ""
    while True:
        with sessions.begin() as session:
            rows = session.execute(
                select(*_SELECTED)
                .outerjoin(Message, Message.public_id == OutboxMessage.public_id)
                .where(OutboxMessage.campaign_id == public_id, OutboxMessage.email > after)
                .order_by(OutboxMessage.email)
                .limit(chunk)
            ).all()
        if not rows:
            return
        after = rows[-1][0]
        yield [tuple(_text(value) for value in row) for row in rows]


def _text(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value
