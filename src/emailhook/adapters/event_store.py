"""Storing normalized events, each exactly once, in bulk."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from emailhook.adapters.bulk import BulkInsert, Kind, Prepared
from emailhook.adapters.database import dumps_json
from emailhook.domain import raw_event
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
    rows = [_callback_row(stored, *by_key[keys[stored]]) for stored in sorted(keys)]
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


#: the kind byte of each key prefix whose key ends in a 20-byte digest in hex (``parsing``)
KEY_KINDS = {"dr": 1, "tr": 2}
#: the kind byte of Infobip's eventId keys (``ev:<eventId>``, ``ev#<digest>`` when long)
EVENT_ID_KIND = 3
#: the kind byte of any other key (another provider's, a test's): digested whole
OTHER_KIND = 0
STORED_KEY_BYTES = 21


def stored_key(key: str) -> bytes:
    """Return ``key`` as ``email_callback.event_key`` stores it: a kind byte and 20 bytes.

    Keys are blake2b digests already (``dr:<hex>``, ``tr:<hex>``): their 20 bytes are kept,
    not their 40 characters of hex. An eventId key is digested as ``parsing`` digests a long
    one, so both forms of one eventId are one key; the id itself stays readable in
    ``provider_event_id``. 21 bytes instead of 43 characters: the unique index, the largest
    of the table, is about half the size, and is the one every insert probes at random.
    """
    prefix, sep, rest = key[:3], key[2:3], key[3:]
    if sep == ":" and prefix[:2] in KEY_KINDS and len(rest) == 40:
        try:
            return bytes([KEY_KINDS[prefix[:2]]]) + bytes.fromhex(rest)
        except ValueError:
            pass
    if key.startswith("ev:"):
        return bytes([EVENT_ID_KIND]) + _blake(rest)
    if key.startswith("ev#") and len(rest) == 40:
        try:
            return bytes([EVENT_ID_KIND]) + bytes.fromhex(rest)
        except ValueError:
            pass
    return bytes([OTHER_KIND]) + _blake(key)


def _blake(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=20).digest()


def insert_platform_events(
    session: Session, events: Sequence[tuple[PlatformEvent, Provenance]]
) -> int:
    """Insert account-level events whose key is new; return how many were inserted."""
    if not events:
        return 0
    rows = [
        (
            event.event_key,
            event.type,
            event.provider_event_id,
            origin.received_at,
            dumps_json(event.raw),
            origin.inbox_id,
        )
        for event, origin in events
    ]
    rows.sort(key=_key)
    return len(_INSERT_PLATFORM_EVENTS.returning(session.connection(), rows))


def _key(row: tuple[Any, ...]) -> str:
    return str(row[0])


#: the column of each EmailEvent field whose name differs
RAW_COLUMN_NAMES = {"message_id": "id_externo"}

_T, _I, _TIME, _B, _J = Kind.TEXT, Kind.BIGINT, Kind.TIME, Kind.BOOLEAN, Kind.JSON
#: a repeated key is skipped; each row inserted comes back with its id
_NEW_KEYS_ONLY = "ON CONFLICT (event_key) DO NOTHING RETURNING event_key, id"

_INSERT_CALLBACKS = BulkInsert(
    "email_callback",
    [
        ("event_key", Kind.BYTES),
        ("kind", _T),
        ("status", _T),
        ("email", _T),
        ("data_recebimento", _TIME),
        ("id_externo", _T),
        ("qj_contact_id", _I),
        ("event_at", _TIME),
        ("sent_at", _TIME),
        ("bulk_id", _T),
        ("provider_event_id", _T),
        ("status_id", _I),
        ("status_group_id", _I),
        ("status_name", _T),
        ("status_description", _T),
        ("error_id", _I),
        ("error_name", _T),
        ("error_description", _T),
        ("error_permanent", _B),
        ("url", _T),
        ("campaign", _T),
        ("creditor_id", _T),
        ("creditor_name", _T),
        ("callback_data", _J),
        ("raw_rest", Kind.JSON_TEXT),
        ("inbox_id", _I),
    ],
    _NEW_KEYS_ONLY,
)

_INSERT_PLATFORM_EVENTS = BulkInsert(
    "platform_event",
    [
        ("event_key", _T),
        ("type", _T),
        ("provider_event_id", _T),
        ("received_at", _TIME),
        ("raw", _J),
        ("inbox_id", _I),
    ],
    _NEW_KEYS_ONLY,
)


def _callback_row(key: bytes, event: EmailEvent, origin: Provenance) -> tuple[Any, ...]:
    """Return the values of ``_INSERT_CALLBACKS``'s columns for one event."""
    return (
        key,
        event.kind.value,
        event.status,
        event.email,
        origin.received_at,
        event.message_id,
        event.qj_contact_id,
        event.event_at,
        event.sent_at,
        event.bulk_id,
        event.provider_event_id,
        event.status_id,
        event.status_group_id,
        event.status_name,
        event.status_description,
        event.error_id,
        event.error_name,
        event.error_description,
        event.error_permanent,
        event.url,
        event.campaign,
        event.creditor_id,
        event.creditor_name,
        dumps_json(event.callback_data),
        dumps_json(raw_event.rest(event.raw, event.kind.value, _raw_columns(event))),
        origin.inbox_id,
    )


def _raw_columns(event: EmailEvent) -> dict[str, Any]:
    """Return what ``raw_event`` reads of an event: the values its row's columns will hold."""
    return {name: getattr(event, name) for name in raw_event.COLUMNS}


#: ``raw_event.COLUMNS`` as ``email_callback`` names them
RAW_EVENT_COLUMNS = [RAW_COLUMN_NAMES.get(name, name) for name in raw_event.COLUMNS]


def restore_raw(kind: str, raw_rest: dict[str, Any], values: Sequence[Any]) -> dict[str, Any]:
    """Return the raw event of a row, from its ``raw_rest`` and ``RAW_EVENT_COLUMNS`` values."""
    return raw_event.restore(raw_rest, kind, dict(zip(raw_event.COLUMNS, values, strict=True)))
