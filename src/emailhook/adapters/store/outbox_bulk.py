"""The outbox written a thousand messages a statement: a campaign's upload, each address once.

``outbox.add`` builds its statements through SQLAlchemy, whose per-row work cost more than the
database did at a campaign's million recipients; here each statement is SQL text built once
(``adapters.db.bulk``), and a duplicate address is left out by the database itself (the
unique index ``ux_outbox_campaign_email``, ``ON CONFLICT DO NOTHING``) instead of a query a
chunk: the rows that went in come back, and only they get their ``message`` row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from emailhook.adapters.db.bulk import BulkInsert
from emailhook.adapters.db.engine import dumps_json
from emailhook.adapters.db.models import Message, OutboxMessage, table_of
from emailhook.adapters.store.outbox import NewMessage, message_row, outbox_row
from emailhook.domain.callback_data import sent_fields

_OUTBOX = BulkInsert.into(
    table_of(OutboxMessage),
    "ON CONFLICT DO NOTHING RETURNING public_id",
    only=(
        "public_id",
        "batch_id",
        "campaign_id",
        "provider",
        "state",
        "category",
        "email",
        "qj_contact_id",
        "document",
        "due_at",
        "deliveries",
        "attempts",
        "reason",
        "created_at",
        "updated_at",
        "sent_at",
        "sender_domain",
    ),
)
_MESSAGE = BulkInsert.into(
    table_of(Message),
    only=(
        "public_id",
        "provider",
        "email",
        "qj_contact_id",
        "campaign",
        "creditor_id",
        "creditor_name",
        "created_at",
    ),
)


def add_new(
    session: Session,
    batch_id: str,
    messages: Sequence[NewMessage],
    now: datetime,
    *,
    campaign_id: str,
    shared: Mapping[str, Any] | None = None,
) -> list[NewMessage]:
    """Commit those of ``messages`` whose address campaign ``campaign_id`` has no message for
    yet (the first of each address among them), each with its ``message`` row; return them
    in order. Every row is as ``outbox.add`` writes it (``shared``: the campaign's message,
    of which each row keeps its own part only)."""
    outbox_rows: list[tuple[Any, ...]] = []
    fields: dict[str, tuple[int | None, str | None, str | None, str | None]] = {}
    for item in messages:
        fields[item.message.public_id] = sent_fields(item.message.metadata)
        row = outbox_row(item, batch_id, campaign_id, fields[item.message.public_id], now, shared)
        outbox_rows.append(_OUTBOX.row({**row, "document": dumps_json(row["document"])}))
    if not outbox_rows:
        return []
    connection = session.connection()
    taken = {row[0] for row in _OUTBOX.returning(connection, outbox_rows)}
    added = [item for item in messages if item.message.public_id in taken]
    _MESSAGE.execute(
        connection,
        [_MESSAGE.row(message_row(item, fields[item.message.public_id], now)) for item in added],
    )
    return added
