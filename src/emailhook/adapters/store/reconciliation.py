"""Reconciliation's bookkeeping: the watermark of each log, a row per run, and what a run
needs to know of the events stored already (their keys, their messages' callbackData)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from emailhook.adapters.db.models import EmailCallback, ReconcileRun, ReconcileWatermark
from emailhook.adapters.store.event_keys import stored_key
from emailhook.adapters.store.events import RAW_EVENT_COLUMNS, restore_raw

#: keys or message ids per ``IN (...)``
_IN_CHUNK = 500
#: the reconciler's provider: the callbackData it looks for is in Infobip's raw items
INFOBIP = "infobip"
_MESSAGE_ID = RAW_EVENT_COLUMNS.index("id_externo")


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
    by_stored = {stored_key(key): key for key in set(keys)}
    wanted = sorted(by_stored)
    found: set[str] = set()
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start : start + _IN_CHUNK]
        stmt = select(EmailCallback.event_key).where(EmailCallback.event_key.in_(chunk))
        found.update(by_stored[bytes(key)] for key in session.execute(stmt).scalars())
    return found


def callback_data_of(session: Session, message_ids: Sequence[str]) -> dict[str, str]:
    """Return, per message id, the callbackData another stored event of it carried.

    Infobip echoes the same callbackData in every report and tracking event of a message,
    and its logs carry none: the earliest stored event that has one speaks for the message.
    The text as sent is its raw item's ``callbackData`` (``restore_raw`` gives it back: a
    message has a few events, each read by the index of ``id_externo``).
    """
    wanted = sorted(set(message_ids))
    found: dict[str, str] = {}
    columns = [getattr(EmailCallback, name) for name in RAW_EVENT_COLUMNS]
    for start in range(0, len(wanted), _IN_CHUNK):
        stmt = (
            select(EmailCallback.kind, EmailCallback.raw_rest, *columns)
            .where(
                EmailCallback.id_externo.in_(wanted[start : start + _IN_CHUNK]),
                EmailCallback.provider == INFOBIP,
            )
            .order_by(EmailCallback.id)
        )
        for kind, raw_rest, *values in session.execute(stmt):
            message_id = values[_MESSAGE_ID]
            if not message_id or message_id in found:
                continue
            sent = restore_raw(INFOBIP, kind, raw_rest, values).get("callbackData")
            if isinstance(sent, str) and sent:
                found[message_id] = sent
    return found
