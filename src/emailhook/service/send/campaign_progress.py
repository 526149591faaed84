"""What the dashboard's campaign pages show beyond ``GET /campaigns/<id>`` (which
``Campaigns.show`` answers, guards and all): the latest campaigns with their messages per
state, and one campaign's message and its counts per minute of its life (``campaign_tally``).
Reads only, through the read-only sessions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from emailhook.adapters.reads import campaign_progress
from emailhook.adapters.store import campaign_tally
from emailhook.domain.clock import utcnow
from emailhook.domain.sending.campaign import DONE, CampaignState
from emailhook.domain.sending.campaign_minutes import chart_minutes, minute_series


@dataclass(frozen=True, slots=True)
class Tally:
    """A campaign's counts (``campaign_tally.COUNTS``): in all, and per minute of its life
    (each message and its outcomes in the minute it was sent)."""

    totals: dict[str, int]
    minutes: list[datetime]
    series: dict[str, list[int]]


class CampaignProgress:
    def __init__(
        self, reads: sessionmaker[Session], clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._reads = reads
        self._clock = clock

    def latest(self, limit: int) -> list[dict[str, Any]]:
        """Return the latest campaigns, newest first: state, pause reason, rate, the upload's
        counts and the tally's (sent and what came of it), without counting their messages."""
        with self._reads.begin() as session:
            rows = campaign_progress.latest(session, limit)
            ids = [r.public_id for r in rows]
            still_open = campaign_progress.still_open(session, ids)
            tallies = campaign_tally.totals_of(session, ids)
        return [
            {
                "id": row.public_id,
                "state": DONE
                if row.state == CampaignState.RUNNING.value and row.public_id not in still_open
                else row.state,
                "pause_reason": row.pause_reason,
                "rate": row.rate,
                "provider": row.provider,
                "created_at": row.created_at,
                "recipients": row.recipients,
                "duplicates": row.duplicates,
                "suppressed": row.suppressed,
                "tally": tallies[row.public_id],
            }
            for row in rows
        ]

    def message(self, public_id: str) -> dict[str, Any]:
        """Return the campaign's message as uploaded (its first line; {} if none)."""
        with self._reads.begin() as session:
            return campaign_progress.document(session, public_id) or {}

    def tally(self, public_id: str, created: datetime) -> Tally:
        """Return the campaign's counts in all and per minute from ``created`` to now (the
        latest ``MAX_MINUTES`` of them)."""
        with self._reads.begin() as session:
            per_minute = campaign_tally.minutes(session, public_id)
        counted = {
            name: {minute: counts[name] for minute, counts in per_minute.items()}
            for name in campaign_tally.COUNTS
        }
        minutes = chart_minutes(created, self._clock(), counted)
        totals = {
            name: sum(counts[name] for counts in per_minute.values())
            for name in campaign_tally.COUNTS
        }
        return Tally(totals, minutes, minute_series(minutes, counted))
