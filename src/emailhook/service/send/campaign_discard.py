"""Campaigns deleted: one whose upload was refused or broken off, and uploads abandoned
midway (their process died, their client went silent), none of whose messages was sent."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from emailhook.adapters.store import campaigns
from emailhook.domain.clock import utcnow

log = logging.getLogger("emailhook.send.campaigns")

#: an upload that wrote no chunk this long is abandoned (its process died, its client went
#: silent) and discarded
STALE_UPLOAD_SECONDS = 3600


def discard(sessions: sessionmaker[Session], public_id: str) -> None:
    """Delete a campaign and its messages, a chunk a transaction."""
    gone = False
    while not gone:
        with sessions.begin() as session:
            gone = campaigns.discard(session, public_id)


def discard_stale_uploads(
    sessions: sessionmaker[Session],
    idle: timedelta = timedelta(seconds=STALE_UPLOAD_SECONDS),
    clock: Callable[[], datetime] = utcnow,
) -> int:
    """Delete the campaigns whose upload wrote nothing for ``idle`` (its web process died, or
    its client went silent): none of their messages was sent. Return how many."""
    with sessions.begin() as session:
        stale = campaigns.stale_uploads(session, clock() - idle)
    for public_id in stale:
        discard(sessions, public_id)
        log.warning("discarded campaign %s: its upload stopped before it ended", public_id)
    return len(stale)
