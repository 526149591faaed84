"""What the campaign guards read and write: the running campaigns with their sending domain
and route, the outcomes of the messages sent from a domain in a window (its tally,
``domain_minute``), the warning a campaign shows, and the pause of the campaigns
sending through a provider."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from emailhook.adapters.db.models import Campaign, OutboxMessage
from emailhook.adapters.store import campaign_tally, campaigns
from emailhook.adapters.store.outbox import OPEN
from emailhook.domain.sending.campaign import CampaignState
from emailhook.domain.sending.guards import Outcomes


@dataclass(frozen=True, slots=True)
class RunningCampaign:
    public_id: str
    #: since when the guards judge it (an operator's last resume); None: every message
    guarded_since: datetime | None
    #: the domain of its ``from`` address (None: not known)
    domain: str | None
    #: the providers its messages may go through (failover), its own first
    route: tuple[str, ...]
    #: the warning it shows now
    warning: str | None


def running(session: Session) -> list[RunningCampaign]:
    """Return the running campaigns with messages left to send, each with its domain and
    route (read from one of its messages: every message of a campaign has the same sender
    and route). A finished campaign can send nothing more: judging it would cost a read a
    tick for every campaign ever run, and pausing it would only hide that it is done."""
    left = exists().where(OutboxMessage.campaign_id == Campaign.public_id, OPEN)
    rows = session.execute(
        select(
            Campaign.public_id, Campaign.guarded_since, Campaign.provider, Campaign.guard_warning
        ).where(Campaign.state == CampaignState.RUNNING.value, left)
    ).all()
    found = []
    for public_id, since, provider, warning in rows:
        first = session.execute(
            select(OutboxMessage.sender_domain, OutboxMessage.document)
            .where(OutboxMessage.campaign_id == public_id)
            .limit(1)
        ).first()
        domain, document = (first[0], first[1]) if first else (None, {})
        route = tuple(document.get("route") or (provider,))
        found.append(RunningCampaign(public_id, since, domain, route, warning))
    return found


def sending_domain(session: Session, public_id: str) -> str | None:
    """Return the sending domain of campaign ``public_id`` (None: not known)."""
    stmt = (
        select(OutboxMessage.sender_domain).where(OutboxMessage.campaign_id == public_id).limit(1)
    )
    return session.execute(stmt).scalar()


def domain_outcomes(session: Session, domain: str, since: datetime) -> Outcomes:
    """Return the messages sent from ``domain`` in the minutes wholly after ``since`` (every
    message of the outbox, a campaign's or not) counted by what their events said, each once:
    from the domain's tally (``campaign_tally``), not by reading its messages."""
    return campaign_tally.domain_outcomes(session, domain, since)


def warn(session: Session, public_id: str, warning: str | None) -> None:
    """Set the warning the campaign shows (None: clear it)."""
    session.execute(
        update(Campaign).where(Campaign.public_id == public_id).values(guard_warning=warning)
    )


def pause_through(
    session: Session, provider: str, domain: str | None, reason: str, now: datetime
) -> list[str]:
    """Pause the running campaigns with messages left to send whose route has ``provider``
    (and whose sending domain is ``domain``, unless None), saying why; return their ids."""
    chosen = [
        c.public_id
        for c in running(session)
        if provider in c.route and (domain is None or c.domain == domain)
    ]
    return [c for c in chosen if campaigns.pause(session, c, reason, now)]
