"""Stored events kept but set apart (``flagged_event``), and imported evidence that names no
address: what ``emailhook state rebuild`` cleans from a database filled before issue 28."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from emailhook.adapters.db.models import FlaggedEvent, SuppressionEvidence
from emailhook.domain.addresses import is_address

#: the flag of an event whose recipient is not an e-mail address (``domain.recipients``)
NOT_AN_ADDRESS = "not_an_address"


def flag(session: Session, event_ids: Sequence[int], why: str, *, at: datetime) -> int:
    """Flag the events among ``event_ids`` not flagged yet; return how many were new."""
    if not event_ids:
        return 0
    known = set(
        session.execute(
            select(FlaggedEvent.event_id).where(FlaggedEvent.event_id.in_(event_ids))
        ).scalars()
    )
    new = sorted(set(event_ids) - known)
    session.add_all(FlaggedEvent(event_id=i, flag=why, flagged_at=at) for i in new)
    session.flush()
    return len(new)


def flagged(session: Session, limit: int) -> tuple[int, list[int]]:
    """Return how many events are flagged, and the first ``limit`` of their ids."""
    count = int(session.execute(select(func.count()).select_from(FlaggedEvent)).scalar_one())
    ids = session.execute(
        select(FlaggedEvent.event_id).order_by(FlaggedEvent.event_id).limit(limit)
    ).scalars()
    return count, list(ids)


def drop_evidence_of_non_addresses(session: Session) -> int:
    """Delete the suppression evidence whose address is no e-mail address (imported from
    Infobip's lists before they were read by the one definition); return the addresses."""
    emails = session.execute(select(SuppressionEvidence.email).distinct()).scalars()
    gone = [email for email in emails if not is_address(email)]
    for start in range(0, len(gone), 500):
        chunk = gone[start : start + 500]
        session.execute(delete(SuppressionEvidence).where(SuppressionEvidence.email.in_(chunk)))
    return len(gone)
