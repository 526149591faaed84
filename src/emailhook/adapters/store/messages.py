"""Messages and their outcomes: each stored event joins its message (one e-mail to one
recipient), turns on the message's flags, and moves the message rollup only when a flag first
turns on, in the transaction that stores the event.

:func:`join_messages` is the one place an event finds its message: by our ``public_id`` when
the sender's metadata carries it (``emailhook_id``, stamped by the send pipeline), else by the
provider, the provider's message id and the recipient, creating the row on first sight. An
event without a message id or a recipient belongs to no message (its event still counts).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, tuple_, update
from sqlalchemy.orm import Session

from emailhook.adapters.db.bulk import BulkInsert, Kind
from emailhook.adapters.db.models import (
    ROLLUP_TEXT_CHARS,
    Message,
    table_of,
)
from emailhook.adapters.store import campaign_tally
from emailhook.adapters.store.events import StoredEvent
from emailhook.domain.buckets import Bucket, floor
from emailhook.domain.message_outcomes import COUNTS, FINAL_FLAGS, flag_of, new_flags
from emailhook.domain.vocabulary import EventType

#: the key in the sender's metadata that carries our message's ``public_id``
PUBLIC_ID_FIELD = "emailhook_id"
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


def sighting_of(stored: StoredEvent) -> Sighting:
    """Return what a newly stored event tells of its message."""
    event = stored.event
    data = event.callback_data or {}
    public_id = data.get(PUBLIC_ID_FIELD)
    return Sighting(
        provider=event.provider,
        provider_message_id=event.message_id,
        email=event.email,
        public_id=public_id if isinstance(public_id, str) and public_id else None,
        received_at=stored.origin.received_at,
        event_type=event.event_type.value,
        qj_contact_id=event.qj_contact_id,
        campaign=event.campaign,
        creditor_id=event.creditor_id,
        creditor_name=event.creditor_name,
        bounce_class=event.bounce_class.value if event.bounce_class else None,
        event_id=stored.id,
    )


def record(session: Session, stored: Sequence[StoredEvent]) -> None:
    """Join newly stored events to their messages, turn flags on, move the rollup."""
    record_sightings(session, [sighting_of(s) for s in stored])


def record_sightings(session: Session, sightings: Sequence[Sighting]) -> None:
    """Join ``sightings`` to their messages; set each flag's first time; count what turned on."""
    joined = join_messages(session, sightings)
    per_message: dict[int, list[Sighting]] = defaultdict(list)
    by_id: dict[int, JoinedMessage] = {}
    for sighting, message in zip(sightings, joined, strict=True):
        if message is not None:
            per_message[message.id].append(sighting)
            by_id[message.id] = message
    updates: list[dict[str, Any]] = []
    counts: Counter[tuple[Any, ...]] = Counter()
    turned: dict[int, frozenset[str]] = {}
    for message_id in sorted(per_message):
        message = by_id[message_id]
        firsts = _firsts(per_message[message_id])
        if message.fresh:  # made by this join with its flags: every one is new
            turned_on, message.fresh = message.on, False
        else:
            turned_on = new_flags(message.on, frozenset(firsts))
            if "final" in turned_on:
                firsts["final"] = min(firsts[f] for f in turned_on if f in firsts)
            if not turned_on:
                continue
            message.on = message.on | turned_on
            row: dict[str, Any] = dict.fromkeys(COLUMN_OF.values())
            row["message_id"] = message_id
            for name in turned_on:
                row[COLUMN_OF[name]] = firsts[name]
            updates.append(row)
        turned[message_id] = frozenset(turned_on)
        for name in turned_on:
            counts[(*_rollup_key(firsts[name], message), name)] += 1
    if updates:
        session.connection().execute(_SET_FLAGS, updates)
    _add_rollup(session, counts)
    _add_campaign_tally(session, sightings, joined, turned, by_id)


def _add_campaign_tally(
    session: Session,
    sightings: Sequence[Sighting],
    joined: Sequence[JoinedMessage | None],
    turned: dict[int, frozenset[str]],
    by_id: dict[int, JoinedMessage],
) -> None:
    """Count what turned on, and the bounces, of the messages we sent (``campaign_tally``
    keeps those of campaigns); messages we only received events of cost nothing."""
    ours = {
        public_id: flags
        for message_id, flags in turned.items()
        if (public_id := by_id[message_id].public_id) is not None
    }
    bounces = [
        campaign_tally.Bounce(
            message.public_id,
            sighting.provider_message_id,
            sighting.bounce_class,
            sighting.event_id,
        )
        for sighting, message in zip(sightings, joined, strict=True)
        if message is not None
        and message.public_id is not None
        and sighting.event_type == EventType.BOUNCED.value
        and sighting.event_id is not None
    ]
    if ours or bounces:
        at = min(s.received_at for s in sightings)
        campaign_tally.add_outcomes(session, ours, bounces, at)


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


def _firsts(sightings: Sequence[Sighting]) -> dict[str, datetime]:
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
        first, firsts = wanted[key][0], _firsts(wanted[key])
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
        on = frozenset(_firsts(wanted[(provider, message_id, email)]))
        made[(provider, message_id, email)] = JoinedMessage(
            int(row_id), provider, sighting.campaign, sighting.creditor_name, on, fresh=True
        )
    return made


def _rollup_key(at: datetime, message: JoinedMessage) -> tuple[Any, ...]:
    return (
        floor(at, Bucket.HOUR),
        message.provider or "",
        (message.campaign or "")[:ROLLUP_TEXT_CHARS],
        (message.creditor_name or "")[:ROLLUP_TEXT_CHARS],
    )


def _add_rollup(session: Session, counts: Counter[tuple[Any, ...]]) -> None:
    if not counts:
        return
    grouped: dict[tuple[Any, ...], dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTS, 0))
    for (*key, name), n in counts.items():
        grouped[tuple(key)][name] += n
    rows = [(*key, *(values[name] for name in COUNTS)) for key, values in sorted(grouped.items())]
    _ADD.execute(session.connection(), rows)


_MESSAGE = table_of(Message)
#: one flag row per message: each column keeps its first time (COALESCE), so a flag that
#: another transaction turned on first stays as it was
_SET_FLAGS = (
    update(_MESSAGE)
    .where(_MESSAGE.c.id == bindparam("message_id"))
    .values(
        {
            column: func.coalesce(
                _MESSAGE.c[column], bindparam(column, type_=_MESSAGE.c.created_at.type)
            )
            for column in COLUMN_OF.values()
        }
    )
)

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

_ADD = BulkInsert(
    "message_rollup",
    [
        ("bucket_hour", Kind.TIME),
        ("provider", Kind.TEXT),
        ("campaign", Kind.TEXT),
        ("creditor_name", Kind.TEXT),
        *((name, Kind.BIGINT) for name in COUNTS),
    ],
    "ON CONFLICT (bucket_hour, provider, campaign, creditor_name) DO UPDATE SET "
    + ", ".join(f"{name} = message_rollup.{name} + excluded.{name}" for name in COUNTS),
)
