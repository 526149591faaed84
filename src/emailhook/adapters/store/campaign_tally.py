"""A campaign's messages counted per minute as they happen (``campaign_minute``), and a
sending domain's (``domain_minute``: every message sent from it, a campaign's or not): sent,
then each outcome once per message, in the row of the minute the message was sent. A
campaign's page, its guards and its domain's guard sum a few hundred rows (a window's
1,440) instead of counting a million messages. Both are kept by the same statements: one
read of the messages gives each its campaign and its domain."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from emailhook.adapters.db.bulk import BulkInsert, Kind
from emailhook.adapters.db.models import CampaignMinute, DomainMinute, EmailCallback, OutboxMessage
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
#: the tallies: a message counts in its campaign's and in its sending domain's
CAMPAIGN, DOMAIN = "campaign", "domain"
#: a count to add: (tally, its key (a campaign's id, a domain), minute, count's name)
Key = tuple[str, str, datetime, str]
#: a message we sent: its campaign, its sending domain (None: none, not known), its minute
Where = tuple[str | None, str | None, datetime | None]


@dataclass(frozen=True, slots=True)
class Bounce:
    """A bounce stored of a message we sent: our id of it, the provider's, its class, its
    event's row id."""

    public_id: str
    provider_message_id: str | None
    bounce_class: str | None
    event_id: int


def add_sent(session: Session, public_ids: Sequence[str], at: datetime) -> None:
    """Count the messages among ``public_ids`` sent at ``at`` (the transaction that settles
    them sent), in their campaign's tally and their sending domain's."""
    counts: Counter[Key] = Counter()
    minute = floor_minute(at)
    for start in range(0, len(public_ids), _CHUNK):
        rows = session.execute(
            select(OutboxMessage.campaign_id, OutboxMessage.sender_domain, func.count())
            .where(OutboxMessage.public_id.in_(public_ids[start : start + _CHUNK]), _TALLIED)
            .group_by(OutboxMessage.campaign_id, OutboxMessage.sender_domain)
        ).all()
        for campaign_id, domain, n in rows:
            for key in _keys((campaign_id, domain, minute)):
                counts[(*key, minute, "sent")] += int(n)
    _add(session, counts)


def add_outcomes(
    session: Session,
    turned_on: Mapping[str, Iterable[str]],
    bounces: Sequence[Bounce],
    at: datetime,
) -> None:
    """Count the flags just turned on (per ``public_id`` of a message we sent) and the bounces
    just stored, of messages of a campaign or a sending domain, each in the minute its message
    was sent (``at``'s if never sent)."""
    ids = sorted(set(turned_on) | {b.public_id for b in bounces})
    if not ids:
        return
    sent = _sent_messages(session, ids)
    if not sent:
        return
    counts: Counter[Key] = Counter()
    for public_id, flags in turned_on.items():
        if (where := sent.get(public_id)) is not None:
            names = [n for flag in flags if (n := FLAG_COUNTS.get(flag)) is not None]
            _count(counts, where, names, at)
    for public_id, name in _first_bounces(session, [b for b in bounces if b.public_id in sent]):
        _count(counts, sent[public_id], [name], at)
    _add(session, counts)


def _count(counts: Counter[Key], where: Where, names: Iterable[str], at: datetime) -> None:
    minute = where[2] or floor_minute(at)
    for key in _keys(where):
        for name in names:
            counts[(*key, minute, name)] += 1


def _keys(where: Where) -> list[tuple[str, str]]:
    """Return the tallies a message counts in: (tally, key) for its campaign, its domain."""
    campaign_id, domain, _ = where
    return [(t, str(k)) for t, k in ((CAMPAIGN, campaign_id), (DOMAIN, domain)) if k is not None]


#: a message of a campaign or of a known sending domain: counted in a tally
_TALLIED = or_(OutboxMessage.campaign_id.is_not(None), OutboxMessage.sender_domain.is_not(None))


def _sent_messages(session: Session, public_ids: Sequence[str]) -> dict[str, Where]:
    """Return, of the messages, those a tally counts: their campaign, domain, sent minute."""
    found: dict[str, Where] = {}
    for start in range(0, len(public_ids), _CHUNK):
        rows = session.execute(
            select(
                OutboxMessage.public_id,
                OutboxMessage.campaign_id,
                OutboxMessage.sender_domain,
                OutboxMessage.sent_at,
            ).where(OutboxMessage.public_id.in_(public_ids[start : start + _CHUNK]), _TALLIED)
        ).all()
        for public_id, campaign_id, domain, sent_at in rows:
            minute = floor_minute(sent_at) if sent_at else None
            found[public_id] = (campaign_id, domain, minute)
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
    """Set every outcome count to zero (``sent`` stays), in both tallies: before the events
    are replayed."""
    for table in (CampaignMinute, DomainMinute):
        session.execute(update(table).values(dict.fromkeys([n for n in COUNTS if n != "sent"], 0)))


def _add(session: Session, counts: Mapping[Key, int]) -> None:
    rows: dict[str, dict[tuple[str, datetime], dict[str, int]]] = {CAMPAIGN: {}, DOMAIN: {}}
    for (tally, key, minute, name), n in counts.items():
        rows[tally].setdefault((key, minute), dict.fromkeys(COUNTS, 0))[name] += n
    for tally, found in rows.items():
        if found:
            _ADD[tally].execute(
                session.connection(),
                [(k, m, *(values[n] for n in COUNTS)) for (k, m), values in sorted(found.items())],
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
    return _outcomes(totals(session, public_id, since))


def domain_outcomes(session: Session, domain: str, since: datetime) -> Outcomes:
    """Return the domain guard's counts of the messages sent from ``domain`` in the minutes
    wholly after ``since`` (as a campaign's after a resume)."""
    stmt = select(*(func.coalesce(func.sum(getattr(DomainMinute, n)), 0) for n in COUNTS)).where(
        DomainMinute.domain == domain, DomainMinute.minute >= floor_minute(since) + MINUTE
    )
    return _outcomes(dict(zip(COUNTS, (int(n) for n in session.execute(stmt).one()), strict=True)))


def _outcomes(found: Mapping[str, int]) -> Outcomes:
    return Outcomes(
        delivered=found["delivered"],
        final=found["final"],
        complained=found["complained"],
        hard_bounced=found["hard_bounced"],
    )


def _upsert(table: str, key: str) -> BulkInsert:
    return BulkInsert(
        table,
        [(key, Kind.TEXT), ("minute", Kind.TIME), *((n, Kind.BIGINT) for n in COUNTS)],
        f"ON CONFLICT ({key}, minute) DO UPDATE SET "
        + ", ".join(f"{n} = {table}.{n} + excluded.{n}" for n in COUNTS),
    )


_ADD = {
    CAMPAIGN: _upsert("campaign_minute", "campaign_id"),
    DOMAIN: _upsert("domain_minute", "domain"),
}
