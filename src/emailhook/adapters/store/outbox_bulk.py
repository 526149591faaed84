"""The outbox written a thousand messages a statement: a campaign's upload, each address once.

``outbox.add`` builds its statements through SQLAlchemy, whose per-row work cost more than the
database did at a campaign's million recipients; here each statement is SQL text built once
(``adapters.db.bulk``), and a duplicate address is left out by the database itself (the
unique index ``ux_outbox_campaign_email``, ``ON CONFLICT DO NOTHING``) instead of a query a
chunk: the rows that went in come back, and only they get their ``message`` row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from emailhook.adapters.db.bulk import BulkInsert
from emailhook.adapters.db.engine import dumps_json
from emailhook.adapters.db.models import Message, OutboxMessage, table_of
from emailhook.adapters.store.outbox import NewMessage
from emailhook.domain.callback_data import sent_fields
from emailhook.domain.sending.guards import sender_domain

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
) -> list[NewMessage]:
    """Commit those of ``messages`` whose address campaign ``campaign_id`` has no message for
    yet (the first of each address among them), each with its ``message`` row; return them
    in order. Every row is as ``outbox.add`` writes it."""
    outbox_rows: list[tuple[Any, ...]] = []
    columns: dict[str, tuple[Any, ...]] = {}
    for item in messages:
        message = item.message
        contact, campaign, creditor_id, creditor_name = sent_fields(message.metadata)
        document = {**message.as_json(), "route": list(item.route or (item.provider,))}
        outbox_rows.append(
            _OUTBOX.row(
                {
                    "public_id": message.public_id,
                    "batch_id": batch_id,
                    "campaign_id": campaign_id,
                    "provider": item.provider,
                    "state": item.state.value,
                    "category": message.category.value,
                    "email": message.to.email,
                    "qj_contact_id": contact,
                    "document": dumps_json(document),
                    "due_at": item.due_at,
                    "deliveries": 0,
                    "attempts": 0,
                    "reason": item.reason,
                    "created_at": now,
                    "updated_at": now,
                    "sender_domain": sender_domain(message.from_email),
                }
            )
        )
        columns[message.public_id] = (contact, campaign, creditor_id, creditor_name)
    if not outbox_rows:
        return []
    connection = session.connection()
    taken = {row[0] for row in _OUTBOX.returning(connection, outbox_rows)}
    added = [item for item in messages if item.message.public_id in taken]
    _MESSAGE.execute(
        connection,
        [
            _MESSAGE.row(
                {
                    "public_id": item.message.public_id,
                    "provider": item.provider,
                    "email": item.message.to.email,
                    "qj_contact_id": columns[item.message.public_id][0],
                    "campaign": columns[item.message.public_id][1],
                    "creditor_id": columns[item.message.public_id][2],
                    "creditor_name": columns[item.message.public_id][3],
                    "created_at": now,
                }
            )
            for item in added
        ],
    )
    return added
