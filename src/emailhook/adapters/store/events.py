"""Storing normalized events, each exactly once, in bulk."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from emailhook.adapters.db.bulk import BulkInsert, Prepared
from emailhook.adapters.db.engine import dumps_json
from emailhook.adapters.db.models import EmailCallback, PlatformEventRow, table_of
from emailhook.adapters.store.event_keys import stored_key
from emailhook.domain import raw_event
from emailhook.domain.email_status import Observation, classify_vocabulary
from emailhook.domain.events import EmailEvent, PlatformEvent
from emailhook.domain.inbox import Provenance


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
            status=classify_vocabulary(event.event_type, event.bounce_class, event.reject_reason),
            occurred_at=event.event_at or self.origin.received_at,
        )


@dataclass(frozen=True, slots=True)
class PreparedEvents:
    """Events ready to insert: their rows already in the database driver's values."""

    by_key: dict[str, tuple[EmailEvent, Provenance]]
    rows: Prepared
    #: each key as stored (``stored_key``), back to the key
    keys: dict[bytes, str]


def prepare_events(events: Sequence[tuple[EmailEvent, Provenance]], dialect: str) -> PreparedEvents:
    """Return ``events`` (a repeated key once) as rows for ``dialect``; no database needed.

    The worker prepares a batch before its transaction begins: on SQLite, building the rows
    then does not hold the one write lock that the other worker processes wait for.
    """
    by_key: dict[str, tuple[EmailEvent, Provenance]] = {}
    for event, origin in events:
        by_key.setdefault(event.event_key, (event, origin))
    keys = {stored_key(key): key for key in by_key}
    # Sorted keys make concurrent writers lock rows in one order: no deadlocks on PostgreSQL.
    rows = [
        _callback_row(_callback_values(stored, *by_key[keys[stored]])) for stored in sorted(keys)
    ]
    return PreparedEvents(by_key, _INSERT_CALLBACKS.prepare(rows, dialect), keys)


def insert_prepared(session: Session, prepared: PreparedEvents) -> list[StoredEvent]:
    """Insert prepared events whose key is new; return those inserted (others are repeats)."""
    inserted = _INSERT_CALLBACKS.returning_prepared(session.connection(), prepared.rows)
    by_key, keys = prepared.by_key, prepared.keys
    return [StoredEvent(int(row_id), *by_key[keys[bytes(key)]]) for key, row_id in inserted]


def insert_events(
    session: Session, events: Sequence[tuple[EmailEvent, Provenance]]
) -> list[StoredEvent]:
    """Insert events whose key is new; return those inserted (the others are repeats)."""
    if not events:
        return []
    dialect = session.connection().dialect.name
    return insert_prepared(session, prepare_events(events, dialect))


def insert_platform_events(
    session: Session, events: Sequence[tuple[PlatformEvent, Provenance]]
) -> int:
    """Insert account-level events whose key is new; return how many were inserted."""
    return len(insert_new_platform_events(session, events))


def insert_new_platform_events(
    session: Session, events: Sequence[tuple[PlatformEvent, Provenance]]
) -> set[str]:
    """Insert account-level events whose key is new; return the keys inserted (a repeat,
    already stored, is not among them)."""
    if not events:
        return set()
    rows = [
        _platform_row(
            {
                "event_key": event.event_key,
                "type": event.type,
                "provider_event_id": event.provider_event_id,
                "received_at": origin.received_at,
                "raw": dumps_json(event.raw),
                "inbox_id": origin.inbox_id,
            }
        )
        for event, origin in events
    ]
    rows.sort(key=_key)
    return {str(key) for key, _ in _INSERT_PLATFORM_EVENTS.returning(session.connection(), rows)}


def _key(row: tuple[Any, ...]) -> str:
    return str(row[0])


#: a repeated key is skipped; each row inserted comes back with its id
_NEW_KEYS_ONLY = "ON CONFLICT (event_key) DO NOTHING RETURNING event_key, id"

#: every column of the models but ``id``: a column added to a model is in the insert, and a
#: row that does not name it fails at once (``RowOrder``)
_INSERT_CALLBACKS = BulkInsert.into(table_of(EmailCallback), _NEW_KEYS_ONLY)
_INSERT_PLATFORM_EVENTS = BulkInsert.into(table_of(PlatformEventRow), _NEW_KEYS_ONLY)
_callback_row = _INSERT_CALLBACKS.row
_platform_row = _INSERT_PLATFORM_EVENTS.row


def _callback_values(key: bytes, event: EmailEvent, origin: Provenance) -> dict[str, Any]:
    """Return the ``email_callback`` row of one event, by column name (``key``: its
    ``event_key`` as stored)."""
    raw_rest = raw_event.rest(event.raw, event.provider, event.kind.value, _raw_columns(event))
    return {
        "event_key": key,
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
        "callback_data": dumps_json(event.callback_data),
        "raw_rest": dumps_json(raw_rest),
        "inbox_id": origin.inbox_id,
        "provider": event.provider,
        "event_type": event.event_type.value,
        "bounce_class": event.bounce_class.value if event.bounce_class else None,
        "reject_reason": event.reject_reason.value if event.reject_reason else None,
    }


def _raw_columns(event: EmailEvent) -> dict[str, Any]:
    """Return what ``raw_event`` reads of an event: the values its row's columns will hold."""
    return {name: getattr(event, name) for name in raw_event.COLUMNS}


#: the column of each EmailEvent field whose name differs
RAW_COLUMN_NAMES = {"message_id": "id_externo"}
#: ``raw_event.COLUMNS`` as ``email_callback`` names them
RAW_EVENT_COLUMNS = [RAW_COLUMN_NAMES.get(name, name) for name in raw_event.COLUMNS]


def restore_raw(
    provider: str, kind: str, raw_rest: dict[str, Any] | None, values: Sequence[Any]
) -> dict[str, Any]:
    """Return the raw event of a row, from its ``raw_rest`` and ``RAW_EVENT_COLUMNS`` values;
    a rest dropped past the raw-event retention (NULL) gives what the columns hold."""
    columns = dict(zip(raw_event.COLUMNS, values, strict=True))
    return raw_event.restore(raw_rest or {}, provider, kind, columns)
