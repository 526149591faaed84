"""Read-only queries of the campaign pages: the latest campaigns with their messages per
state (from the outbox's ``(campaign_id, state)`` index alone), and a campaign's message."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from emailhook.adapters.db.models import Campaign, OutboxMessage
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


def state_counts(session: Session, public_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """Return, for each of the campaigns, how many of its messages are in each outbox state."""
    if not public_ids:
        return {}
    stmt = (
        select(OutboxMessage.campaign_id, OutboxMessage.state, func.count())
        .where(OutboxMessage.campaign_id.in_(list(public_ids)))
        .group_by(OutboxMessage.campaign_id, OutboxMessage.state)
    )
    found: dict[str, dict[str, int]] = {public_id: {} for public_id in public_ids}
    for campaign_id, state, n in session.execute(stmt).all():
        found[str(campaign_id)][state] = int(n)
    return found
