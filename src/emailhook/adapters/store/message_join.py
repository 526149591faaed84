"""The one place an event finds its message (one e-mail to one recipient): by our
``public_id`` when the sender's metadata carries it (``emailhook_id``, stamped by the send
pipeline), else by the provider, the provider's message id and the recipient, creating the row
on first sight with the flags its events turn on. An event without a message id or a
recipient belongs to no message. What the join's callers then do with the flags and the
rollup: ``messages.py``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from emailhook.adapters.db.bulk import BulkInsert, Kind
from emailhook.adapters.db.models import Message
from emailhook.domain.message_outcomes import COUNTS, FINAL_FLAGS, flag_of

#: each count of :data:`COUNTS` -> the ``message`` column that holds its first time
COLUMN_OF = {"messages": "first_event_at", **{name: f"{name}_at" for name in COUNTS[1:]}}
_CHUNK = 2000  # keys per SELECT: 3 parameters each, well under SQLite's limit

MessageKey = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class Sighting:
    """What one event tells of its message."""

    provider: str
    provider_message_id: str | None
    email: str | None
    public_id: str | None
    received_at: datetime
    event_type: str
    qj_contact_id: int | None = None
    campaign: str | None = None
    creditor_id: str | None = None
    creditor_name: str | None = None
    #: a bounce's class (``domain.vocabulary.BounceClass``) and its event's row id, for the
    #: campaign tally
    bounce_class: str | None = None
    event_id: int | None = None

    @property
    def key(self) -> MessageKey | None:
        if not self.provider_message_id or not self.email:
            return None
        return (self.provider, self.provider_message_id, self.email)


@dataclass(slots=True)
class JoinedMessage:
    """A message row as the join found it: its id, rollup key values and flags already on."""

    id: int
    provider: str | None
    campaign: str | None
    creditor_name: str | None
    on: frozenset[str]
    #: made by this join, its flags already written
    fresh: bool = False
    #: our id of it: a message we sent (None: one we only received events of)
    public_id: str | None = None


def join_messages(session: Session, sightings: Sequence[Sighting]) -> list[JoinedMessage | None]:
    """Return each sighting's message (None: it names none), creating rows on first sight.

    By ``public_id`` first (a message we sent, whatever the provider called it), else by
    (provider, provider message id, recipient). A row made here is made with the flags its
    sightings turn on (``fresh``); rows found are locked for the transaction on PostgreSQL, so
    two workers never both turn on one flag (one that loses the race to make a row finds it).
    """
    by_public = _by_public_id(session, {s.public_id for s in sightings if s.public_id})
    wanted: dict[MessageKey, list[Sighting]] = defaultdict(list)
    for sighting in sightings:
        if sighting.key is not None and sighting.public_id not in by_public:
            wanted[sighting.key].append(sighting)
    by_key = _by_key(session, sorted(wanted))
    missing = sorted(key for key in wanted if key not in by_key)
    if missing:
        by_key.update(_insert_new(session, {key: wanted[key] for key in missing}))
        lost = [key for key in missing if key not in by_key]  # made meanwhile by another worker
        by_key.update(_by_key(session, lost))
    joined: list[JoinedMessage | None] = []
    for sighting in sightings:
        message = by_public.get(sighting.public_id) if sighting.public_id else None
        if message is None and sighting.key is not None:
            message = by_key.get(sighting.key)
        joined.append(message)
    return joined


def firsts_of(sightings: Sequence[Sighting]) -> dict[str, datetime]:
    """Return the first receipt time of each count the sightings of one message turn on."""
    firsts: dict[str, datetime] = {}
    for sighting in sightings:
        flag = flag_of(sighting.event_type)
        for name in ("messages", flag) if flag is not None else ("messages",):
            if name not in firsts or sighting.received_at < firsts[name]:
                firsts[name] = sighting.received_at
    finals = [firsts[f] for f in FINAL_FLAGS if f in firsts]
    if finals:
        firsts["final"] = min(finals)
    return firsts


def _columns() -> tuple[Any, ...]:
    flags = [getattr(Message, COLUMN_OF[name]) for name in COUNTS]
    return (
        Message.id,
        Message.provider,
        Message.campaign,
        Message.creditor_name,
        *flags,
        Message.public_id,
    )


def _joined(row: Any) -> JoinedMessage:
    flags = row[4 : 4 + len(COUNTS)]
    on = frozenset(name for name, value in zip(COUNTS, flags, strict=True) if value is not None)
    return JoinedMessage(row[0], row[1], row[2], row[3], on, public_id=row[4 + len(COUNTS)])


def _locked(statement: Any, session: Session) -> Any:
    if session.connection().dialect.name == "sqlite":
        return statement  # one writer at a time already (BEGIN IMMEDIATE)
    return statement.order_by(Message.id).with_for_update()


def _by_public_id(session: Session, public_ids: set[str]) -> dict[str | None, JoinedMessage]:
    if not public_ids:
        return {}
    statement = select(*_columns()).where(Message.public_id.in_(sorted(public_ids)))
    return {row.public_id: _joined(row) for row in session.execute(_locked(statement, session))}


def _by_key(session: Session, keys: Sequence[MessageKey]) -> dict[MessageKey, JoinedMessage]:
    found: dict[MessageKey, JoinedMessage] = {}
    identity = tuple_(Message.provider, Message.provider_message_id, Message.email)
    for start in range(0, len(keys), _CHUNK):
        statement = select(*_columns(), Message.provider_message_id, Message.email).where(
            identity.in_(keys[start : start + _CHUNK])
        )
        for row in session.execute(_locked(statement, session)):
            found[(row.provider, row.provider_message_id, row.email)] = _joined(row)
    return found


def _insert_new(
    session: Session, wanted: dict[MessageKey, list[Sighting]]
) -> dict[MessageKey, JoinedMessage]:
    """Make a row for each key with the flags its sightings turn on; return those made."""
    rows, made = [], {}
    for key in sorted(wanted):
        first, firsts = wanted[key][0], firsts_of(wanted[key])
        values = {
            "provider": first.provider,
            "provider_message_id": first.provider_message_id,
            "email": first.email,
            "qj_contact_id": first.qj_contact_id,
            "campaign": first.campaign,
            "creditor_id": first.creditor_id,
            "creditor_name": first.creditor_name,
            "created_at": firsts["messages"],
        }
        values.update({column: firsts.get(name) for name, column in COLUMN_OF.items()})
        rows.append(_INSERT.row(values))
    for row_id, provider, message_id, email in _INSERT.returning(session.connection(), rows):
        sighting = wanted[(provider, message_id, email)][0]
        on = frozenset(firsts_of(wanted[(provider, message_id, email)]))
        made[(provider, message_id, email)] = JoinedMessage(
            int(row_id), provider, sighting.campaign, sighting.creditor_name, on, fresh=True
        )
    return made


#: a new message with its flags; a key another worker made meanwhile comes back as nothing
_INSERT = BulkInsert(
    "message",
    [
        ("provider", Kind.TEXT),
        ("provider_message_id", Kind.TEXT),
        ("email", Kind.TEXT),
        ("qj_contact_id", Kind.BIGINT),
        ("campaign", Kind.TEXT),
        ("creditor_id", Kind.TEXT),
        ("creditor_name", Kind.TEXT),
        ("created_at", Kind.TIME),
        *((column, Kind.TIME) for column in COLUMN_OF.values()),
    ],
    "ON CONFLICT DO NOTHING RETURNING id, provider, provider_message_id, email",
)
