"""A campaign's messages counted per minute as they happen (``campaign_minute``): sent, then
each outcome once per message, in the row of the minute the message was sent. Its page and
its guards sum a few hundred rows instead of counting a million messages."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from emailhook.adapters.db.bulk import BulkInsert, Kind
from emailhook.adapters.db.models import CampaignMinute, EmailCallback, OutboxMessage
from emailhook.domain.sending.campaign_minutes import MINUTE, floor_minute
from emailhook.domain.sending.guards import Outcomes
from emailhook.domain.vocabulary import BounceClass, EventType

#: the counts of a minute, in the table's order
COUNTS = (
    "sent",
    "final",
    "delivered",
    "bounced",
    "hard_bounced",
    "soft_bounced",
    "complained",
    "unsubscribed",
)
#: a message flag (``domain.message_outcomes``) -> the count it moves
FLAG_COUNTS = {
    name: name for name in ("final", "delivered", "bounced", "complained", "unsubscribed")
}
#: a bounce class -> the count its first bounce of a message moves
BOUNCE_COUNTS = {BounceClass.HARD.value: "hard_bounced", BounceClass.SOFT.value: "soft_bounced"}
_CHUNK = 2000  # ids per SELECT


@dataclass(frozen=True, slots=True)
class Bounce:
    """A bounce stored of a message we sent: our id of it, the provider's, its class, its
    event's row id."""

    public_id: str
    provider_message_id: str | None
    bounce_class: str | None
    event_id: int


def add_sent(session: Session, public_ids: Sequence[str], at: datetime) -> None:
    """Count the campaign messages among ``public_ids`` sent at ``at`` (the transaction that
    settles them sent)."""
    counts: Counter[tuple[str, datetime, str]] = Counter()
    minute = floor_minute(at)
    for start in range(0, len(public_ids), _CHUNK):
        rows = session.execute(
            select(OutboxMessage.campaign_id, func.count())
            .where(
                OutboxMessage.public_id.in_(public_ids[start : start + _CHUNK]),
                OutboxMessage.campaign_id.is_not(None),
            )
            .group_by(OutboxMessage.campaign_id)
        ).all()
        for campaign_id, n in rows:
            counts[(str(campaign_id), minute, "sent")] += int(n)
    _add(session, counts)


def add_outcomes(
    session: Session,
    turned_on: Mapping[str, Iterable[str]],
    bounces: Sequence[Bounce],
    at: datetime,
) -> None:
    """Count the flags just turned on (per ``public_id`` of a message we sent) and the bounces
    just stored, of campaign messages, each in the minute its message was sent (``at``'s if
    never sent)."""
    ids = sorted(set(turned_on) | {b.public_id for b in bounces})
    if not ids:
        return
    sent = _campaign_messages(session, ids)
    if not sent:
        return
    counts: Counter[tuple[str, datetime | None, str]] = Counter()
    for public_id, flags in turned_on.items():
        if (where := sent.get(public_id)) is not None:
            for flag in flags:
                if (name := FLAG_COUNTS.get(flag)) is not None:
                    counts[(*where, name)] += 1
    for public_id, name in _first_bounces(session, [b for b in bounces if b.public_id in sent]):
        counts[(*sent[public_id], name)] += 1
    _add(session, {(c, m or floor_minute(at), n): v for (c, m, n), v in counts.items()})


def _campaign_messages(
    session: Session, public_ids: Sequence[str]
) -> dict[str, tuple[str, datetime | None]]:
    """Return, of the messages, those of campaigns: their campaign and sent minute."""
    found: dict[str, tuple[str, datetime | None]] = {}
    for start in range(0, len(public_ids), _CHUNK):
        rows = session.execute(
            select(OutboxMessage.public_id, OutboxMessage.campaign_id, OutboxMessage.sent_at).where(
                OutboxMessage.public_id.in_(public_ids[start : start + _CHUNK]),
                OutboxMessage.campaign_id.is_not(None),
            )
        ).all()
        for public_id, campaign_id, sent_at in rows:
            found[public_id] = (str(campaign_id), floor_minute(sent_at) if sent_at else None)
    return found


def _first_bounces(session: Session, bounces: Sequence[Bounce]) -> list[tuple[str, str]]:
    """Return (public id, count) for each message whose first bounce of a class (hard, soft)
    is among ``bounces``: no event of that class of it was stored before (a lower row id).

    Two workers storing bounces of one message take turns (its row is locked), so the
    second sees the first's; a rebuild replays the events in row order, so each message's
    first of a class is counted once whichever batch holds it."""
    firsts: dict[tuple[str, str, str], int] = {}
    for b in bounces:
        if b.bounce_class in BOUNCE_COUNTS and b.provider_message_id:
            key = (b.public_id, b.provider_message_id, b.bounce_class)
            firsts[key] = min(firsts.get(key, b.event_id), b.event_id)
    if not firsts:
        return []
    stored = {
        (pid, cls): int(first)
        for pid, cls, first in session.execute(
            select(EmailCallback.id_externo, EmailCallback.bounce_class, func.min(EmailCallback.id))
            .where(
                EmailCallback.id_externo.in_(sorted({pid for _, pid, _ in firsts})),
                EmailCallback.event_type == EventType.BOUNCED.value,
                EmailCallback.bounce_class.in_(list(BOUNCE_COUNTS)),
            )
            .group_by(EmailCallback.id_externo, EmailCallback.bounce_class)
        ).all()
    }
    return sorted(
        (m, BOUNCE_COUNTS[cls])
        for (m, pid, cls), first in firsts.items()
        if stored.get((pid, cls), first) >= first
    )


def reset_outcomes(session: Session) -> None:
    """Set every outcome count to zero (``sent`` stays): before the events are replayed."""
    session.execute(
        update(CampaignMinute).values(dict.fromkeys([n for n in COUNTS if n != "sent"], 0))
    )


def _add(session: Session, counts: Mapping[tuple[str, datetime, str], int]) -> None:
    if not counts:
        return
    rows: dict[tuple[str, datetime], dict[str, int]] = {}
    for (campaign_id, minute, name), n in counts.items():
        rows.setdefault((campaign_id, minute), dict.fromkeys(COUNTS, 0))[name] += n
    _ADD.execute(
        session.connection(),
        [(c, m, *(values[name] for name in COUNTS)) for (c, m), values in sorted(rows.items())],
    )


def minutes(session: Session, public_id: str) -> dict[datetime, dict[str, int]]:
    """Return the campaign's counts per minute it sent in."""
    stmt = select(CampaignMinute).where(CampaignMinute.campaign_id == public_id)
    return {
        row.minute: {name: getattr(row, name) for name in COUNTS}
        for row in session.execute(stmt).scalars()
    }


def totals(session: Session, public_id: str, since: datetime | None = None) -> dict[str, int]:
    """Return the campaign's counts summed: of every message, or of those sent in the minutes
    wholly after ``since``."""
    stmt = select(*(func.coalesce(func.sum(getattr(CampaignMinute, n)), 0) for n in COUNTS)).where(
        CampaignMinute.campaign_id == public_id
    )
    if since is not None:
        stmt = stmt.where(CampaignMinute.minute >= floor_minute(since) + MINUTE)
    return dict(zip(COUNTS, (int(n) for n in session.execute(stmt).one()), strict=True))


def totals_of(session: Session, public_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """Return ``totals`` of each of the campaigns (zeros for one without a minute)."""
    found = {public_id: dict.fromkeys(COUNTS, 0) for public_id in public_ids}
    if not public_ids:
        return found
    stmt = (
        select(CampaignMinute.campaign_id, *(func.sum(getattr(CampaignMinute, n)) for n in COUNTS))
        .where(CampaignMinute.campaign_id.in_(list(public_ids)))
        .group_by(CampaignMinute.campaign_id)
    )
    for campaign_id, *sums in session.execute(stmt).all():
        found[str(campaign_id)] = dict(zip(COUNTS, (int(n or 0) for n in sums), strict=True))
    return found


def outcomes(session: Session, public_id: str, since: datetime | None = None) -> Outcomes:
    """Return the guards' counts of the campaign (``totals``)."""
    found = totals(session, public_id, since)
    return Outcomes(
        delivered=found["delivered"],
        final=found["final"],
        complained=found["complained"],
        hard_bounced=found["hard_bounced"],
    )


_ADD = BulkInsert(
    "campaign_minute",
    [("campaign_id", Kind.TEXT), ("minute", Kind.TIME), *((n, Kind.BIGINT) for n in COUNTS)],
    "ON CONFLICT (campaign_id, minute) DO UPDATE SET "
    + ", ".join(f"{n} = campaign_minute.{n} + excluded.{n}" for n in COUNTS),
)
