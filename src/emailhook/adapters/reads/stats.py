"""``GET /stats`` and the dashboard's numbers: events by ``event_type`` and messages by outcome,
per group, from the two rollups (never a scan of the events or the messages).

Both rollups are by receipt hour: ``since`` is taken down to its hour and ``until`` up to the
next one, so a window covers whole hours. Events count every event; messages count each
message once per outcome (``domain.message_outcomes``), in the hour its flag turned on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from emailhook.adapters.db.models import EventRollup, MessageRollup
from emailhook.domain.buckets import Bucket, ceil, floor
from emailhook.domain.message_outcomes import COUNTS, rates
from emailhook.domain.vocabulary import EventType

#: what ``by=`` takes -> the rollup columns of a group's key, named as the answer names them
GROUPINGS: Mapping[str, tuple[tuple[str, str], ...]] = {
    "none": (),
    "provider": (("provider", "provider"),),
    "campaign": (("campaign", "campaign"),),
    "creditor": (("creditor", "creditor_name"),),
    "campaign,creditor": (("campaign", "campaign"), ("creditor", "creditor_name")),
}
EVENT_TYPES: tuple[str, ...] = tuple(t.value for t in EventType)


@dataclass(slots=True)
class Group:
    """One group's numbers: events by type, messages by outcome, and the rates."""

    key: dict[str, str] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=lambda: dict.fromkeys(EVENT_TYPES, 0))
    messages: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))

    def as_dict(self, *, with_key: bool = True) -> dict[str, Any]:
        answer: dict[str, Any] = {"key": self.key} if with_key else {}
        answer["events"] = dict(self.events)
        answer["messages"] = dict(self.messages)
        answer["rates"] = rates(self.messages)
        return answer


@dataclass(frozen=True, slots=True)
class Stats:
    since: datetime | None
    until: datetime | None
    groups: list[Group]
    total: Group

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "groups": [g.as_dict() for g in self.groups],
            "total": self.total.as_dict(with_key=False),
        }


def stats(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    by: str = "none",
    provider: str | None = None,
) -> Stats:
    """Return events and messages counted per group of ``by`` within [since, until)."""
    key_columns = GROUPINGS[by]
    start = floor(since, Bucket.HOUR) if since else None
    end = ceil(until, Bucket.HOUR) if until else None
    groups: dict[tuple[str, ...], Group] = {}
    total = Group()

    def group_of(values: tuple[str, ...]) -> Group:
        if values not in groups:
            names = (name for name, _ in key_columns)
            groups[values] = Group(dict(zip(names, values, strict=True)))
        return groups[values]

    event_keys = [getattr(EventRollup, column) for _, column in key_columns]
    statement = select(*event_keys, EventRollup.event_type, func.sum(EventRollup.events))
    statement = _window(statement, EventRollup, start, end, provider).group_by(
        *event_keys, EventRollup.event_type
    )
    for *names, event_type, n in session.execute(statement):
        for group in (group_of(tuple(names)), total):
            group.events[event_type] = group.events.get(event_type, 0) + int(n)

    message_keys = [getattr(MessageRollup, column) for _, column in key_columns]
    sums = [func.sum(getattr(MessageRollup, name)) for name in COUNTS]
    statement = select(*message_keys, *sums)
    statement = _window(statement, MessageRollup, start, end, provider).group_by(*message_keys)
    width = len(key_columns)
    for row in session.execute(statement):
        for group in (group_of(tuple(row[:width])), total):
            for name, n in zip(COUNTS, row[width:], strict=True):
                group.messages[name] += int(n or 0)
    return Stats(since, until, [groups[k] for k in sorted(groups)], total)


def _window(
    statement: Any, table: Any, start: datetime | None, end: datetime | None, provider: str | None
) -> Any:
    if start is not None:
        statement = statement.where(table.bucket_hour >= start)
    if end is not None:
        statement = statement.where(table.bucket_hour < end)
    if provider is not None:
        statement = statement.where(table.provider == provider)
    return statement
