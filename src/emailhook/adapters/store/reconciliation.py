"""Reconciliation's bookkeeping: the watermark of each log, a row per run, and what a run
needs to know of the events stored already (their keys, their messages' callbackData)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from emailhook.adapters.db.models import EmailCallback, ReconcileRun, ReconcileWatermark

#: keys or message ids per ``IN (...)``
_IN_CHUNK = 500


def read_watermark(session: Session, name: str) -> datetime | None:
    row = session.get(ReconcileWatermark, name)
    return row.watermark if row else None


def advance_watermark(session: Session, name: str, to: datetime, *, now: datetime) -> None:
    """Move the watermark forward to ``to`` (never back: two runs may finish in any order)."""
    row = session.get(ReconcileWatermark, name, with_for_update=True)
    if row is None:
        session.add(ReconcileWatermark(name=name, watermark=to, updated_at=now))
    elif to > row.watermark:
        row.watermark, row.updated_at = to, now
    session.flush()


def start_run(
    session: Session,
    *,
    started_at: datetime,
    since: datetime,
    until: datetime,
    gap_before: datetime | None,
) -> int:
    run = ReconcileRun(
        started_at=started_at,
        since=since,
        until=until,
        gap_before=gap_before,
        pages=0,
        logs_read=0,
        events_new=0,
        events_known=0,
        skipped=0,
        completed=False,
    )
    session.add(run)
    session.flush()
    return run.id


def finish_run(session: Session, run_id: int, *, finished_at: datetime, **counts: object) -> None:
    """Record how a run ended: its counts, whether it completed, its error."""
    session.execute(
        update(ReconcileRun)
        .where(ReconcileRun.id == run_id)
        .values(finished_at=finished_at, **counts)
    )


def latest_runs(session: Session, limit: int) -> list[ReconcileRun]:
    stmt = select(ReconcileRun).order_by(ReconcileRun.id.desc()).limit(limit)
    runs = list(session.execute(stmt).scalars())
    session.expunge_all()
    return runs


def known_keys(session: Session, keys: Iterable[str]) -> set[str]:
    """Return which of ``keys`` are stored already."""
    wanted = sorted(set(keys))
    found: set[str] = set()
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start : start + _IN_CHUNK]
        stmt = select(EmailCallback.event_key).where(EmailCallback.event_key.in_(chunk))
        found.update(session.execute(stmt).scalars())
    return found


def callback_data_of(session: Session, message_ids: Sequence[str]) -> dict[str, str]:
    """Return, per message id, the callbackData another stored event of it carried.

    Infobip echoes the same callbackData in every report and tracking event of a message,
    and its logs carry none: the earliest stored event that has one speaks for the message.
    """
    wanted = sorted(set(message_ids))
    found: dict[str, str] = {}
    for start in range(0, len(wanted), _IN_CHUNK):
        stmt = (
            select(EmailCallback.id_externo, EmailCallback.callback_data_raw)
            .where(
                EmailCallback.id_externo.in_(wanted[start : start + _IN_CHUNK]),
                EmailCallback.callback_data_raw.is_not(None),
            )
            .order_by(EmailCallback.id)
        )
        for message_id, raw in session.execute(stmt):
            if message_id and raw:
                found.setdefault(message_id, raw)
    return found
