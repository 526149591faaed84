"""The outbox written a thousand messages a statement: a campaign's upload, each address once.
A chunk's rows are built first (``build``: pure work, outside the transaction, in the thread
that checks the next chunk) and written after (``insert``).

``outbox.add`` builds its statements through SQLAlchemy, whose per-row work cost more than the
database did at a campaign's million recipients; here each statement is SQL text built once
(``adapters.db.bulk``), and a duplicate address is left out by the database itself (the
unique index ``ux_outbox_campaign_email``, ``ON CONFLICT DO NOTHING``) instead of a query a
chunk: the rows that went in come back, and only they get their ``message`` row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from emailhook.adapters.db.bulk import BulkInsert, Prepared
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


@dataclass(frozen=True, slots=True)
class Built:
    """A chunk's rows built for one database, outside its transaction (``build``)."""

    messages: list[NewMessage]
    #: the outbox rows, in the driver's values
    outbox: Prepared
    #: each message's ``message`` row, by public id (written for those the outbox took)
    message_rows: dict[str, tuple[Any, ...]]


def build(
    messages: Sequence[NewMessage],
    batch_id: str,
    now: datetime,
    *,
    campaign_id: str,
    dialect: str,
    shared: Mapping[str, Any] | None = None,
) -> Built:
    """Return the rows of ``messages`` as ``insert`` writes them on ``dialect``: every row as
    ``outbox.add`` writes it (``shared``: the campaign's message, of which each row keeps its
    own part only). Pure work: no database."""
    outbox_rows: list[tuple[Any, ...]] = []
    message_rows: dict[str, tuple[Any, ...]] = {}
    for item in messages:
        fields = sent_fields(item.message.metadata)
        row = outbox_row(item, batch_id, campaign_id, fields, now, shared)
        outbox_rows.append(_OUTBOX.row({**row, "document": dumps_json(row["document"])}))
        message_rows[item.message.public_id] = _MESSAGE.row(message_row(item, fields, now))
    return Built(list(messages), _OUTBOX.prepare(outbox_rows, dialect), message_rows)


def insert(session: Session, built: Built) -> list[NewMessage]:
    """Write those of ``built``'s messages whose address their campaign has no message for
    yet (the first of each address among them), each with its ``message`` row; return them
    in order."""
    connection = session.connection()
    taken = {row[0] for row in _OUTBOX.returning_prepared(connection, built.outbox)}
    added = [item for item in built.messages if item.message.public_id in taken]
    _MESSAGE.execute(connection, [built.message_rows[item.message.public_id] for item in added])
    return added
