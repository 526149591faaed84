"""Campaigns in the database: made while their recipients are written, started, paused,
resumed and cancelled; their messages counted by state."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from emailhook.adapters.db.models import Campaign, Message, OutboxMessage
from emailhook.adapters.store import campaign_tally
from emailhook.domain.sending.campaign import CampaignState
from emailhook.domain.sending.guards import Outcomes
from emailhook.domain.sending.message import SendState

#: rows deleted a statement when a refused upload is undone
_DISCARD_ROWS = 5000


def create(
    session: Session,
    public_id: str,
    *,
    provider: str,
    document: dict[str, Any],
    rate: float | None,
    now: datetime,
    message: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
) -> None:
    """Make campaign ``public_id``, ``uploading``: none of its messages go until it starts.
    ``message``: the message its recipients' rows are their own part of. Raises
    IntegrityError when another campaign has ``idempotency_key``."""
    session.add(
        Campaign(
            public_id=public_id,
            idempotency_key=idempotency_key,
            state=CampaignState.UPLOADING.value,
            provider=provider,
            document=document,
            message=message,
            rate=rate,
            recipients=0,
            duplicates=0,
            suppressed=0,
            created_at=now,
            updated_at=now,
        )
    )


def known_emails(session: Session, public_id: str, emails: Iterable[str]) -> set[str]:
    """Return those of ``emails`` the campaign has a message for already."""
    stmt = select(OutboxMessage.email).where(
        OutboxMessage.campaign_id == public_id, OutboxMessage.email.in_(list(emails))
    )
    return set(session.execute(stmt).scalars())


def start(
    session: Session,
    public_id: str,
    *,
    recipients: int,
    duplicates: int,
    suppressed: int,
    request_hash: str,
    now: datetime,
) -> None:
    """Record the upload's counts and let the campaign's messages go."""
    session.execute(
        update(Campaign)
        .where(Campaign.public_id == public_id)
        .values(
            state=CampaignState.RUNNING.value,
            recipients=recipients,
            duplicates=duplicates,
            suppressed=suppressed,
            request_hash=request_hash,
            updated_at=now,
        )
    )


def touch(session: Session, public_id: str, now: datetime) -> bool:
    """Mark an upload as alive now (a chunk written), its row locked until the transaction
    ends; return False when it is no longer uploading (the sweep discarded it)."""
    result = session.execute(
        update(Campaign)
        .where(Campaign.public_id == public_id, Campaign.state == CampaignState.UPLOADING.value)
        .values(updated_at=now)
    )
    return bool(getattr(result, "rowcount", 0))


def stale_uploads(session: Session, before: datetime) -> list[str]:
    """Return the campaigns still uploading whose last chunk is older than ``before``."""
    stmt = select(Campaign.public_id).where(
        Campaign.state == CampaignState.UPLOADING.value, Campaign.updated_at < before
    )
    return list(session.execute(stmt).scalars())


def discard(session: Session, public_id: str) -> bool:
    """Delete a chunk of the campaign's messages, or, once none is left, the campaign; return
    True when it is gone (the caller commits each call). The campaign's row is locked first,
    so that an upload writing a chunk meanwhile either finds it gone or has its chunk seen."""
    if locked(session, public_id) is None:
        return True
    ids = list(
        session.execute(
            select(OutboxMessage.public_id)
            .where(OutboxMessage.campaign_id == public_id)
            .limit(_DISCARD_ROWS)
        ).scalars()
    )
    if ids:
        session.execute(delete(Message).where(Message.public_id.in_(ids)))
        session.execute(delete(OutboxMessage).where(OutboxMessage.public_id.in_(ids)))
        return False
    session.execute(delete(Campaign).where(Campaign.public_id == public_id))
    return True


def locked(session: Session, public_id: str) -> Campaign | None:
    """Return the campaign, its row locked until the transaction ends (None: no such one)."""
    stmt = select(Campaign).where(Campaign.public_id == public_id).with_for_update()
    return session.execute(stmt).scalar_one_or_none()


def republish_queued(session: Session, public_id: str) -> None:
    """Make the campaign's queued messages publishable at once (those published before a
    pause and left by the workers would otherwise wait for the redelivery bound)."""
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.campaign_id == public_id,
            OutboxMessage.state == SendState.QUEUED.value,
            OutboxMessage.published_at.is_not(None),
        )
        .values(published_at=None)
    )


def cancel_unsent(session: Session, public_id: str, now: datetime) -> int:
    """Cancel the campaign's queued and scheduled messages; return how many. Those a worker
    holds (``sending``) end as their provider call does."""
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.campaign_id == public_id,
            OutboxMessage.state.in_((SendState.QUEUED.value, SendState.SCHEDULED.value)),
        )
        .values(state=SendState.CANCELLED.value, reason="campaign cancelled", updated_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def counts(session: Session, public_id: str) -> dict[str, int]:
    """Return how many of the campaign's messages are in each outbox state."""
    stmt = (
        select(OutboxMessage.state, func.count())
        .where(OutboxMessage.campaign_id == public_id)
        .group_by(OutboxMessage.state)
    )
    return {state: int(n) for state, n in session.execute(stmt).all()}


def get(session: Session, public_id: str) -> Campaign | None:
    """Return the campaign (None: no such one)."""
    stmt = select(Campaign).where(Campaign.public_id == public_id)
    return session.execute(stmt).scalar_one_or_none()


def by_key(session: Session, idempotency_key: str) -> Campaign | None:
    """Return the campaign that came with ``idempotency_key`` (its hash), if any."""
    stmt = select(Campaign).where(Campaign.idempotency_key == idempotency_key)
    return session.execute(stmt).scalar_one_or_none()


def running(session: Session) -> list[tuple[str, datetime | None]]:
    """Return the running campaigns: each one's id, and since when the guards judge it."""
    stmt = select(Campaign.public_id, Campaign.guarded_since).where(
        Campaign.state == CampaignState.RUNNING.value
    )
    return [(public_id, since) for public_id, since in session.execute(stmt).all()]


def outcomes(session: Session, public_id: str, since: datetime | None = None) -> Outcomes:
    """Return the campaign's messages (those sent in the minutes wholly after ``since``, if
    given) counted by what their events said, each once: from the campaign's tally, kept as
    the flags turn on (``campaign_tally``), not by counting its messages."""
    return campaign_tally.outcomes(session, public_id, since)


def pause(session: Session, public_id: str, reason: str, now: datetime) -> bool:
    """Pause the campaign if it is running, saying why; return whether it was."""
    done = session.execute(
        update(Campaign)
        .where(Campaign.public_id == public_id, Campaign.state == CampaignState.RUNNING.value)
        .values(state=CampaignState.PAUSED.value, pause_reason=reason, updated_at=now)
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]
