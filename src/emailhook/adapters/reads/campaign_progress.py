"""Read-only queries of the campaign pages: the latest campaigns, which of them have
messages left to send (from the outbox's ``(campaign_id, state)`` index), a campaign's
message."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from emailhook.adapters.db.models import Campaign, OutboxMessage
from emailhook.adapters.store.outbox import OPEN_STATES
from emailhook.domain.sending.campaign import CampaignState


def latest(session: Session, limit: int) -> list[Campaign]:
    """Return the latest campaigns (those still uploading left out), newest first."""
    stmt = (
        select(Campaign)
        .where(Campaign.state != CampaignState.UPLOADING.value)
        .order_by(Campaign.id.desc())
        .limit(limit)
    )
    return list(session.execute(stmt).scalars())


def document(session: Session, public_id: str) -> dict[str, Any] | None:
    """Return the campaign's message as uploaded (its first line), None: no such campaign."""
    stmt = select(Campaign.document).where(Campaign.public_id == public_id)
    found: dict[str, Any] | None = session.execute(stmt).scalar_one_or_none()
    return found


def still_open(session: Session, public_ids: Sequence[str]) -> set[str]:
    """Return those of the campaigns with a message still queued, scheduled or sending: one
    index seek each, never a count of their messages."""
    found = set()
    for public_id in public_ids:
        stmt = (
            select(OutboxMessage.id)
            .where(
                OutboxMessage.campaign_id == public_id,
                OutboxMessage.state.in_([s.value for s in OPEN_STATES]),
            )
            .limit(1)
        )
        if session.execute(stmt).first() is not None:
            found.add(public_id)
    return found
