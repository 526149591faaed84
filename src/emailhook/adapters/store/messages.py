"""Messages and their outcomes: each stored event joins its message (``message_join``: the
one place an event finds its message), turns on the message's flags, and moves the message
rollup only when a flag first turns on, in the transaction that stores the event. An event
that belongs to no message still counts as an event.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, update
from sqlalchemy.orm import Session

from emailhook.adapters.db.bulk import BulkInsert, Kind
from emailhook.adapters.db.models import (
    ROLLUP_TEXT_CHARS,
    Message,
    table_of,
)
from emailhook.adapters.store import campaign_tally
from emailhook.adapters.store.events import StoredEvent
from emailhook.adapters.store.message_join import (
    COLUMN_OF,
    JoinedMessage,
    Sighting,
    firsts_of,
    join_messages,
)
from emailhook.domain.buckets import Bucket, floor
from emailhook.domain.message_outcomes import COUNTS, new_flags
from emailhook.domain.vocabulary import EventType

#: the key in the sender's metadata that carries our message's ``public_id``
PUBLIC_ID_FIELD = "emailhook_id"


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
        firsts = firsts_of(per_message[message_id])
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
