"""Storing normalized events, each exactly once, in bulk."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from emailhook.adapters.models import EmailCallback, PlatformEventRow
from emailhook.domain.email_status import Observation, classify
from emailhook.domain.events import EmailEvent, PlatformEvent


@dataclass(frozen=True, slots=True)
class Provenance:
    """Which inbox body an event came from, and when this service received it."""

    inbox_id: int
    received_at: datetime


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event this insert stored for the first time, with its row id."""

    id: int
    event: EmailEvent
    origin: Provenance

    def observation(self) -> Observation:
        """Return what the derived state needs of this event."""
        event = self.event
        return Observation(
            event_id=self.id,
            qj_contact_id=event.qj_contact_id,
            email=event.email,
            status=classify(event.status, event.error_id, event.error_permanent),
            occurred_at=event.event_at or self.origin.received_at,
        )


def insert_events(
    session: Session, events: Sequence[tuple[EmailEvent, Provenance]]
) -> list[StoredEvent]:
    """Insert events whose key is new; return those inserted (the others are repeats)."""
    if not events:
        return []
    by_key: dict[str, tuple[EmailEvent, Provenance]] = {}
    for event, origin in events:
        by_key.setdefault(event.event_key, (event, origin))
    # Sorted keys make concurrent writers lock rows in one order: no deadlocks on PostgreSQL.
    rows = [_callback_row(*by_key[key]) for key in sorted(by_key)]
    inserted = _insert_new(session, EmailCallback, rows)
    return [StoredEvent(row_id, *by_key[key]) for key, row_id in inserted]


def insert_platform_events(
    session: Session, events: Sequence[tuple[PlatformEvent, Provenance]]
) -> int:
    """Insert account-level events whose key is new; return how many were inserted."""
    if not events:
        return 0
    rows = sorted(
        (
            {
                "event_key": event.event_key,
                "type": event.type,
                "provider_event_id": event.provider_event_id,
                "received_at": origin.received_at,
                "raw": event.raw,
                "inbox_id": origin.inbox_id,
            }
            for event, origin in events
        ),
        key=_key,
    )
    return len(_insert_new(session, PlatformEventRow, rows))


def _insert_new(
    session: Session,
    model: type[EmailCallback] | type[PlatformEventRow],
    rows: list[dict[str, Any]],
) -> list[tuple[str, int]]:
    """Insert the rows whose key is new; return (event_key, id) of each one inserted."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # Core, not the ORM's bulk insert: the ORM leaves out None values, which splits a batch
    # of mixed reports and tracking events into thousands of single-row statements.
    table = cast(Table, model.__table__)
    stmt = (
        insert(table)
        .on_conflict_do_nothing(index_elements=["event_key"])
        .returning(table.c.event_key, table.c.id)
    )
    return [(str(key), int(row_id)) for key, row_id in session.execute(stmt, rows).all()]


def _key(row: dict[str, Any]) -> str:
    return str(row["event_key"])


def _callback_row(event: EmailEvent, origin: Provenance) -> dict[str, Any]:
    return {
        "event_key": event.event_key,
        "kind": event.kind.value,
        "status": event.status,
        "email": event.email,
        "data_recebimento": origin.received_at,
        "id_externo": event.message_id,
        "qj_contact_id": event.qj_contact_id,
        "event_at": event.event_at,
        "sent_at": event.sent_at,
        "bulk_id": event.bulk_id,
        "provider_event_id": event.provider_event_id,
        "status_id": event.status_id,
        "status_group_id": event.status_group_id,
        "status_name": event.status_name,
        "status_description": event.status_description,
        "error_id": event.error_id,
        "error_name": event.error_name,
        "error_description": event.error_description,
        "error_permanent": event.error_permanent,
        "url": event.url,
        "campaign": event.campaign,
        "creditor_id": event.creditor_id,
        "creditor_name": event.creditor_name,
        "callback_data": event.callback_data,
        "callback_data_raw": event.callback_data_raw,
        "raw": event.raw,
        "inbox_id": origin.inbox_id,
    }
