"""What the relay claims of the outbox: the messages due for publishing (new, scheduled and
come, backed off and come, published and never taken), a paced campaign's next ones, how
many are in flight, and their release when a publish fails. Which campaigns' messages may go
at all (``may_go``) is here too: the workers' takes (``held.py``) ask the same."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from emailhook.adapters.db.models import Campaign, OutboxMessage
from emailhook.adapters.store.outbox import OPEN, OPEN_STATES, SENDING
from emailhook.domain.sending.campaign import CampaignState

#: what a claim returns of each message
_CLAIMED = (
    OutboxMessage.id,
    OutboxMessage.public_id,
    OutboxMessage.provider,
    OutboxMessage.deliveries,
    OutboxMessage.state,
    OutboxMessage.attempted_at,
)


@dataclass(frozen=True, slots=True)
class Due:
    """A message the relay claimed: its id, provider and how many times it was published."""

    public_id: str
    provider: str
    deliveries: int
    #: a message whose last call may have reached the provider: when that call began, which
    #: names the call (every message of it has the same); None for any other
    call: datetime | None = None


def going_campaigns(*, paced: bool | None = None) -> Any:
    """Return a select of the ids of the campaigns whose open messages may go: the running
    ones, and the cancelled ones (whose only open messages are those a worker took before
    the cancel: settled as any, never left ``sending``). ``paced``: only the running ones
    with a rate (the relay paces them), or all the others; None: all."""
    running = Campaign.state == CampaignState.RUNNING.value
    cancelled = Campaign.state == CampaignState.CANCELLED.value
    if paced is None:
        where = or_(running, cancelled)
    elif paced:
        where = and_(running, Campaign.rate.is_not(None))
    else:
        where = or_(and_(running, Campaign.rate.is_(None)), cancelled)
    return select(Campaign.public_id).where(where)


def may_go(*, paced: bool | None = None) -> Any:
    """Return the condition of a message that may be published or taken as far as its
    campaign goes: none, or one that goes (``paced`` as ``going_campaigns``)."""
    return or_(
        OutboxMessage.campaign_id.is_(None),
        OutboxMessage.campaign_id.in_(going_campaigns(paced=paced)),
    )


def _publishable(
    now: datetime, republish_before: datetime, campaign: Any = None
) -> tuple[Any, ...]:
    """``campaign``: the condition on the message's campaign (default: may go)."""
    return (
        may_go() if campaign is None else campaign,
        OPEN,
        OutboxMessage.due_at <= now,
        or_(
            OutboxMessage.published_at.is_(None),
            OutboxMessage.published_at <= republish_before,
        ),
    )


def any_due(session: Session, now: datetime, republish_before: datetime) -> bool:
    """Return True when some message is due for publishing (a hint: claims check again)."""
    stmt = select(OutboxMessage.id).where(*_publishable(now, republish_before))
    return session.execute(stmt.limit(1)).first() is not None


def claim_due(
    session: Session,
    *,
    now: datetime,
    republish_before: datetime,
    limit: int,
    campaign: str | None = None,
) -> list[Due]:
    """Mark up to ``limit`` due messages as published now and return them in order: those
    never published since they became due, and those published before ``republish_before``
    that are still due (the broker lost the task, or the worker died before taking it).

    Without ``campaign``: the messages of no campaign or of a running one without a rate;
    with it, only that campaign's (the relay paces them by its rate).

    On PostgreSQL SKIP LOCKED gives concurrent relays different rows; SQLite's write lock
    serializes them.
    """
    which = _unpaced(session) if campaign is None else OutboxMessage.campaign_id == campaign
    due = (
        select(OutboxMessage.id)
        .where(*_publishable(now, republish_before, which))
        .order_by(OutboxMessage.due_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    stmt = (
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(due.scalar_subquery()))
        .values(published_at=now, deliveries=OutboxMessage.deliveries + 1)
        .returning(*_CLAIMED)
    )
    rows = list(session.execute(stmt).all())
    rows += _rest_of_their_calls(session, rows, now, republish_before)
    return [
        Due(public_id, provider, deliveries, attempted_at if state == SENDING else None)
        for _, public_id, provider, deliveries, state, attempted_at in sorted(rows)
    ]


def _unpaced(session: Session) -> Any:
    """Return ``may_go(paced=False)`` with the campaigns it names read first: a list of
    ids (usually none) rather than a subquery, so that the database reads the messages of
    no campaign, and of each such campaign, from ``ix_outbox_campaign_due`` in due order
    instead of every open message (PostgreSQL scanned a paced campaign's million a pass)."""
    ids = list(session.execute(going_campaigns(paced=False)).scalars())
    if not ids:
        return OutboxMessage.campaign_id.is_(None)
    return or_(OutboxMessage.campaign_id.is_(None), OutboxMessage.campaign_id.in_(ids))


def _rest_of_their_calls(
    session: Session, rows: Sequence[Any], now: datetime, republish_before: datetime
) -> list[Any]:
    """Claim the due messages of the calls ``rows`` have only part of. A provider's
    idempotency key may be its request's (Resend's, Brevo's: made from its message ids): a
    message whose call may have reached it goes again with the rest of that call and no
    other, so the limit of a pass must not cut a call in two."""
    calls = {
        (row.provider, row.attempted_at)
        for row in rows
        if row.state == SENDING and row.attempted_at is not None
    }
    if not calls:
        return []
    rest = (
        select(OutboxMessage.id)
        .where(
            *_publishable(now, republish_before),
            OutboxMessage.state == SENDING,
            or_(
                *(
                    and_(OutboxMessage.provider == provider, OutboxMessage.attempted_at == at)
                    for provider, at in calls
                )
            ),
            OutboxMessage.id.not_in([row.id for row in rows]),
        )
        .with_for_update(skip_locked=True)
    )
    return list(
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(rest.scalar_subquery()))
            .values(published_at=now, deliveries=OutboxMessage.deliveries + 1)
            .returning(*_CLAIMED)
        ).all()
    )


def in_flight(session: Session, *, republish_before: datetime, limit: int) -> int:
    """Return how many open messages were published since ``republish_before`` and are not
    taken yet (a worker's take clears ``published_at``): what the queue holds for the
    workers, counted up to ``limit`` (``ix_outbox_in_flight`` holds only published rows).
    A paused campaign's are not counted: the workers leave them, and they must not hold
    the others back."""
    # the published rows first (the index), then their campaigns: asked at once, SQLite
    # would read a paused campaign's every open message by ix_outbox_campaign_due
    published = (
        select(OutboxMessage.campaign_id)
        .where(OutboxMessage.published_at > republish_before, OPEN)
        .limit(4 * limit)
        .subquery()
    )
    going = or_(published.c.campaign_id.is_(None), published.c.campaign_id.in_(going_campaigns()))
    counted = session.execute(select(func.count()).select_from(published).where(going))
    return min(limit, int(counted.scalar_one()))


def paced_due(
    session: Session, *, now: datetime, republish_before: datetime, limit: int
) -> list[tuple[str, float, int]]:
    """Return the running campaigns with a rate that have messages due for publishing:
    ``(campaign id, rate, how many are due, at most limit)`` each. Counting stops at
    ``limit`` (a pass claims no more): a pass costs the same with a million queued as with
    a thousand (each reads ``ix_outbox_campaign_due``, under SQLite's one write lock)."""
    paced = session.execute(
        select(Campaign.public_id, Campaign.rate).where(
            Campaign.state == CampaignState.RUNNING.value, Campaign.rate.is_not(None)
        )
    ).all()
    found: list[tuple[str, float, int]] = []
    for campaign, rate in paced:
        due = (
            select(OutboxMessage.id)
            .where(*_publishable(now, republish_before, OutboxMessage.campaign_id == campaign))
            .limit(limit)
            .subquery()
        )
        n = session.execute(select(func.count()).select_from(due)).scalar_one()
        if n and rate is not None:
            found.append((str(campaign), float(rate), int(n)))
    return found


def release(session: Session, public_ids: Sequence[str]) -> None:
    """Undo a claim whose publish failed: publishable again at once."""
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.public_id.in_(public_ids), OutboxMessage.state.in_(OPEN_STATES))
        .values(published_at=None, deliveries=OutboxMessage.deliveries - 1)
    )
