"""Which stretch of Infobip's e-mail logs a reconciliation run reads, and what it found.

Infobip keeps logs for 48 hours and filters them by *send* time (``sentSince``/``sentUntil``).
A run reads ``[since, until)``; consecutive runs leave no gap because

* each run starts ``overlap`` before the previous run's watermark: a message's log can appear
  (or turn final) a little after it was sent, and re-reading is harmless: events are stored
  by key, a repeat is counted as known;
* the watermark advances only when a run completes, so a run that crashes half-way is re-run
  from the same place;
* a message still PENDING holds the watermark back (for at most ``pending_hold``), so its
  final status is read by a later run.

When the watermark is older than what Infobip still keeps, the window starts at the oldest
readable instant and the plan says so (``gap_before``): what was sent before it can no longer
be reconciled.

Pure: stdlib only; the caller reads and writes the watermark.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

#: how far back Infobip's logs go
LOG_RETENTION = timedelta(hours=48)
#: kept clear of the retention edge, so that the oldest instant asked for is still there when
#: the request arrives (and a run of many pages does not chase the edge)
RETENTION_MARGIN = timedelta(minutes=5)
#: re-read before the watermark: logs of a message can appear late
DEFAULT_OVERLAP = timedelta(minutes=10)
#: longest a message still PENDING holds the watermark back
DEFAULT_PENDING_HOLD = timedelta(hours=6)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True, slots=True)
class ReconcileWindow:
    """The send times a run reads: ``[since, until)``."""

    since: datetime
    until: datetime
    #: the watermark (or ``--since``) asked for more than Infobip keeps: sends between this
    #: instant and ``since`` cannot be reconciled any more
    gap_before: datetime | None = None


def plan_window(
    watermark: datetime | None,
    now: datetime,
    since: timedelta | datetime | None = None,
    *,
    overlap: timedelta = DEFAULT_OVERLAP,
) -> ReconcileWindow:
    """Return the window of the next run.

    ``since`` (the operator's ``--since``: a duration back from ``now``, or an instant) wins
    over the watermark; without either, the run reads all that Infobip keeps.
    """
    _require_aware(now, "now")
    oldest = now - LOG_RETENTION + RETENTION_MARGIN
    if isinstance(since, timedelta):
        if since <= timedelta(0):
            raise ValueError("--since must be a positive duration")
        wanted = now - since
    elif isinstance(since, datetime):
        _require_aware(since, "since")
        wanted = since
    elif watermark is not None:
        _require_aware(watermark, "watermark")
        # a watermark ahead of this clock (another host's clock) is read from now
        wanted = min(watermark, now) - overlap
    else:
        return ReconcileWindow(oldest, now)
    if wanted < oldest:
        return ReconcileWindow(oldest, now, gap_before=wanted)
    return ReconcileWindow(min(wanted, now), now)


def next_watermark(
    window: ReconcileWindow,
    pending_sent_at: Iterable[datetime],
    *,
    pending_hold: timedelta = DEFAULT_PENDING_HOLD,
) -> datetime:
    """Return the watermark to store once a run of ``window`` has completed.

    It is the window's end, held back to the earliest send still PENDING in it, but never
    more than ``pending_hold`` before the end (a message that never turns final would
    otherwise make every run re-read two days).
    """
    earliest = min(pending_sent_at, default=None)
    if earliest is None:
        return window.until
    floor = max(window.until - pending_hold, window.since)
    return max(min(earliest, window.until), floor)


def parse_since(text: str) -> timedelta:
    """Return ``--since`` as a duration: ``90m``, ``48h``, ``2d``, ``3600s`` or ``1h30m``."""
    value = text.strip().lower()
    if not value or len(value) > 32:
        raise ValueError(f"not a duration: {text!r} (e.g. 48h, 90m, 2d)")
    total, number = 0, ""
    for char in value:
        if char.isascii() and char.isdigit():
            number += char
        elif char in _UNITS and number:
            total, number = total + int(number) * _UNITS[char], ""
        else:
            raise ValueError(f"not a duration: {text!r} (e.g. 48h, 90m, 2d)")
    if number or total <= 0:
        raise ValueError(f"not a duration: {text!r} (e.g. 48h, 90m, 2d)")
    return timedelta(seconds=total)


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (UTC)")


@dataclass(slots=True)
class ReconcileReport:
    """What one run read and did: the operator's summary and the run table's row."""

    window: ReconcileWindow
    pages: int = 0
    logs_read: int = 0
    events_new: int = 0
    events_known: int = 0
    #: log items that gave no event, by reason (``status PENDING is not final``, ...)
    skipped: Counter[str] = field(default_factory=Counter)
    #: send times of items still PENDING, for :func:`next_watermark`
    pending_sent_at: list[datetime] = field(default_factory=list)
    completed: bool = False
    #: why the run stopped early (an API error), when it did
    error: str | None = None

    def skip(self, reason: str) -> None:
        """Count one log item that gave no event."""
        self.skipped[reason] += 1

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def as_dict(self) -> dict[str, object]:
        """Return the report as plain values (for JSON output and the log)."""
        return {
            "since": self.window.since.isoformat(),
            "until": self.window.until.isoformat(),
            "gap_before": self.window.gap_before.isoformat() if self.window.gap_before else None,
            "pages": self.pages,
            "logs_read": self.logs_read,
            "events_new": self.events_new,
            "events_known": self.events_known,
            "skipped": dict(sorted(self.skipped.items())),
            "skipped_total": self.skipped_total,
            "pending": len(self.pending_sent_at),
            "completed": self.completed,
            "error": self.error,
        }
