"""A provider's platform events (Infobip's HIGH_BOUNCE_RATE_WARNING and _BLOCKED), stored
once; a new one that says the provider is about to block (or blocks) a sending domain pauses
every running campaign sending through that provider from that domain (every one through it
when the event names no domain), saying why, in the transaction that stores it. A
redelivered event is a repeat, not stored again: it pauses nothing, so a campaign an
operator resumed after the first is not paused again by the same event."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from emailhook.adapters.store import guards
from emailhook.adapters.store.events import insert_new_platform_events
from emailhook.domain.events import PlatformEvent
from emailhook.domain.inbox import Provenance
from emailhook.domain.sending.guards import platform_pause

log = logging.getLogger("emailhook.platform_events")


def store(
    session: Session,
    events: Sequence[tuple[PlatformEvent, Provenance, str]],
    now: datetime,
) -> list[str]:
    """Store ``events`` (each with its body's provenance and provider) whose key is new, and
    pause the campaigns the new ones call for; return the ids of the campaigns paused."""
    new = insert_new_platform_events(session, [(event, origin) for event, origin, _ in events])
    paused: list[str] = []
    for event, _, provider in events:
        if event.event_key not in new:
            continue
        new.discard(event.event_key)  # the same event twice in one batch acts once
        details = event.raw.get("eventDetails")
        verdict = platform_pause(
            provider,
            event.type,
            details if isinstance(details, Mapping) else {},
            event.provider_event_id,
        )
        if verdict is None:
            continue
        ids = guards.pause_through(session, provider, verdict.domain, verdict.reason, now)
        log.error("%s: paused %d campaigns %s", verdict.reason, len(ids), ", ".join(ids))
        paused += ids
    return paused
