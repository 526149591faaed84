"""Read-only queries of the dashboard: charts and rates from the rollup, never a GROUP BY
over ``email_callback``; events, contacts and the inbox through indexed lookups."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from emailhook.adapters.db.models import ContactEmailState, EmailCallback, EventRollup
from emailhook.adapters.reads import queries
from emailhook.adapters.store.events import RAW_EVENT_COLUMNS, restore_raw

#: what the campaign page can group by: its name and the rollup columns
GROUPINGS: dict[str, tuple[str, ...]] = {
    "campaign": ("campaign",),
    "creditor": ("creditor_name",),
    "campaign_creditor": ("campaign", "creditor_name"),
    "provider": ("provider",),
}


def hourly_counts(
    session: Session, start: datetime, end: datetime
) -> list[tuple[datetime, str, int]]:
    """Return (hour, event type, events) for every hour of [start, end) that has events."""
    rows = session.execute(
        select(EventRollup.bucket_hour, EventRollup.event_type, func.sum(EventRollup.events))
        .where(EventRollup.bucket_hour >= start, EventRollup.bucket_hour < end)
        .group_by(EventRollup.bucket_hour, EventRollup.event_type)
    ).all()
    return [(hour, event_type, int(n)) for hour, event_type, n in rows]


def provider_detail(
    session: Session, start: datetime, end: datetime
) -> dict[str, dict[str, dict[str, int]]]:
    """Return, per event type within [start, end), its events per provider and, within each
    provider, per the provider's own status name: the detail behind the overview's words."""
    rows = session.execute(
        select(
            EventRollup.event_type,
            EventRollup.provider,
            EventRollup.status,
            func.sum(EventRollup.events),
        )
        .where(EventRollup.bucket_hour >= start, EventRollup.bucket_hour < end)
        .group_by(EventRollup.event_type, EventRollup.provider, EventRollup.status)
    ).all()
    found: dict[str, dict[str, dict[str, int]]] = {}
    for event_type, provider, status, n in rows:
        statuses = found.setdefault(event_type, {}).setdefault(provider, {})
        statuses[status] = statuses.get(status, 0) + int(n)
    return found


def events_stored(session: Session) -> int:
    """Return how many events are stored: the rollup's total, without counting the events."""
    return int(session.execute(select(func.coalesce(func.sum(EventRollup.events), 0))).scalar_one())


@dataclass(frozen=True, slots=True)
class EventWithRaw:
    event: queries.Callback
    raw: dict[str, Any]


def latest_events(
    session: Session, where: queries.CallbackFilter, *, limit: int, before_id: int | None
) -> tuple[list[EventWithRaw], bool]:
    """Return a page of events (newest first, as the query API), each with its raw event."""
    items, more = queries.list_callbacks(session, where, limit=limit, before_id=before_id)
    raw = raw_events(session, [item.id for item in items])
    return [EventWithRaw(item, raw.get(item.id, {})) for item in items], more


def raw_events(session: Session, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Return the raw event of each id (by primary key), given back whole from its row."""
    if not ids:
        return {}
    columns = [getattr(EmailCallback, name) for name in RAW_EVENT_COLUMNS]
    rows = session.execute(
        select(
            EmailCallback.id,
            EmailCallback.provider,
            EmailCallback.kind,
            EmailCallback.raw_rest,
            *columns,
        ).where(EmailCallback.id.in_(list(ids)))
    ).all()
    return {
        int(row_id): restore_raw(provider, kind, raw_rest, values)
        for row_id, provider, kind, raw_rest, *values in rows
    }


def contacts_with_email(session: Session, email: str, *, limit: int = 20) -> list[int]:
    """Return the contacts that have events for ``email``."""
    stmt = (
        select(ContactEmailState.qj_contact_id)
        .where(ContactEmailState.email == email)
        .order_by(ContactEmailState.qj_contact_id)
        .limit(limit)
    )
    return [int(contact) for contact in session.execute(stmt).scalars()]
