"""Read-only queries of the query API: each returns plain dataclasses, each uses an index."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from emailhook.adapters.db.models import (
    ContactEmailCount,
    ContactEmailState,
    EmailCallback,
    SuppressedAddress,
)
from emailhook.domain.clock import utcnow


@dataclass(frozen=True, slots=True)
class CallbackFilter:
    """Conditions on ``email_callback``; None means any."""

    qj_contact_id: int | None = None
    email: str | None = None
    status: str | None = None
    id_externo: str | None = None
    #: who sent it (a registry name) and what happened (``domain.vocabulary.EventType``)
    provider: str | None = None
    event_type: str | None = None
    #: how final a bounce or rejection was (``domain.vocabulary.BounceClass``)
    bounce_class: str | None = None
    #: on ``data_recebimento``: since inclusive, until exclusive
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Callback:
    """One stored event, as the API shows it (``raw`` stays in the database)."""

    id: int
    kind: str
    status: str | None
    email: str | None
    data_recebimento: datetime
    id_externo: str | None
    qj_contact_id: int | None
    event_at: datetime | None
    sent_at: datetime | None
    bulk_id: str | None
    provider_event_id: str | None
    status_name: str | None
    status_description: str | None
    error_id: int | None
    error_name: str | None
    error_description: str | None
    error_permanent: bool | None
    url: str | None
    campaign: str | None
    creditor_id: str | None
    creditor_name: str | None
    callback_data: dict[str, Any] | None
    provider: str
    event_type: str
    bounce_class: str | None
    reject_reason: str | None


_CALLBACK_COLUMNS = [getattr(EmailCallback, f.name) for f in fields(Callback)]


@dataclass(frozen=True, slots=True)
class LastEvent:
    id: int
    #: derived status (the vocabulary of ``domain.email_status``)
    status: str
    #: ``email_callback.status``: the provider's own word for it
    event_status: str | None
    occurred_at: datetime
    id_externo: str | None
    #: the event in the one vocabulary every provider maps onto
    provider: str | None = None
    event_type: str | None = None
    bounce_class: str | None = None
    reject_reason: str | None = None


@dataclass(frozen=True, slots=True)
class SuppressionEntry:
    """One address of the suppression list, as the API and the dashboard show it."""

    email: str
    reason: str
    since: datetime
    #: ``emailhook`` (our events) or ``infobip`` (imported from its lists)
    source: str = "emailhook"
    #: when it ends by itself (a soft-bounce suppression), or None: until lifted
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class ContactEmail:
    """One address of a contact: derived status, last event, counts, suppression."""

    email: str
    status: str
    status_since: datetime
    last_event: LastEvent
    counts: dict[str, int] = field(default_factory=dict)
    suppression: SuppressionEntry | None = None


def list_callbacks(
    session: Session, where: CallbackFilter, *, limit: int, before_id: int | None
) -> tuple[list[Callback], bool]:
    """Return up to ``limit`` events, newest id first, below ``before_id``; and if more follow.

    Keyset pagination: a page starts below the last id of the previous one, so rows inserted
    meanwhile (higher ids) never shift or repeat a page, and no page scans what came before.
    """
    conditions = [
        (where.qj_contact_id, EmailCallback.qj_contact_id.__eq__),
        (where.email, EmailCallback.email.__eq__),
        (where.status, EmailCallback.status.__eq__),
        (where.id_externo, EmailCallback.id_externo.__eq__),
        (where.provider, EmailCallback.provider.__eq__),
        (where.event_type, EmailCallback.event_type.__eq__),
        (where.bounce_class, EmailCallback.bounce_class.__eq__),
        (where.since, EmailCallback.data_recebimento.__ge__),
        (where.until, EmailCallback.data_recebimento.__lt__),
        (before_id, EmailCallback.id.__lt__),
    ]
    filters = [condition(value) for value, condition in conditions if value is not None]
    if _narrow_window(session, where, filters):
        # The newest ids of the window from the time index alone, then their rows by id.
        ids = select(EmailCallback.id).where(*filters).order_by((EmailCallback.id + 0).desc())
        filters = [EmailCallback.id.in_(ids.limit(limit + 1).scalar_subquery())]
    stmt = select(*_CALLBACK_COLUMNS).where(*filters).order_by(EmailCallback.id.desc())
    rows = session.execute(stmt.limit(limit + 1)).all()
    return [Callback(*row) for row in rows[:limit]], len(rows) > limit


#: a receipt-time window with fewer events than this is listed from its own index
WINDOW_PROBE = 20_000


def _narrow_window(
    session: Session, where: CallbackFilter, filters: list[ColumnElement[bool]]
) -> bool:
    """Return True for a receipt-time window of fewer than ``WINDOW_PROBE`` events.

    PostgreSQL lists such a window by scanning the primary key backwards and filtering: it
    assumes the window's rows are spread over all ids, but they are one run of ids (receipt
    time and id grow together), so a one-hour window in the middle of a million events skipped
    491,549 rows first (EXPLAIN ANALYZE: 1.1 s; bench/explain.py). A narrow window is read
    from the time index instead (its entries carry the id: ``id + 0`` keeps the planner off the
    primary key) and sorted, then only its page's rows are fetched. Counting up to
    ``WINDOW_PROBE`` entries of that index costs about 2 ms. SQLite's planner takes the time
    index by itself.
    """
    keyed = (where.qj_contact_id, where.email, where.id_externo)
    if (
        (where.since is None and where.until is None)
        or any(value is not None for value in keyed)
        or session.get_bind().dialect.name != "postgresql"
    ):
        return False
    probe = select(EmailCallback.id).where(*filters).limit(WINDOW_PROBE).subquery()
    return int(session.execute(select(func.count()).select_from(probe)).scalar_one()) < WINDOW_PROBE


def contact_emails(session: Session, qj_contact_id: int) -> list[ContactEmail]:
    """Return the derived state of every address of one contact (empty when none is known)."""
    states = session.execute(
        select(
            ContactEmailState,
            EmailCallback.status,
            EmailCallback.id_externo,
            EmailCallback.provider,
            EmailCallback.event_type,
            EmailCallback.bounce_class,
            EmailCallback.reject_reason,
        )
        .outerjoin(EmailCallback, EmailCallback.id == ContactEmailState.last_event_id)
        .where(ContactEmailState.qj_contact_id == qj_contact_id)
        .order_by(ContactEmailState.email)
    ).all()
    if not states:
        return []
    counts: dict[str, dict[str, int]] = {}
    for email, status, events in session.execute(
        select(ContactEmailCount.email, ContactEmailCount.status, ContactEmailCount.events)
        .where(ContactEmailCount.qj_contact_id == qj_contact_id)
        .order_by(ContactEmailCount.email, ContactEmailCount.status)
    ):
        counts.setdefault(email, {})[status] = events
    emails = [row[0].email for row in states]
    suppressed = {
        row.email: SuppressionEntry(row.email, row.reason, row.since, row.source, row.until)
        for row in session.execute(
            select(SuppressedAddress).where(
                SuppressedAddress.email.in_(emails), _in_force(utcnow())
            )
        ).scalars()
    }
    return [
        ContactEmail(
            email=state.email,
            status=state.status,
            status_since=state.status_since,
            last_event=LastEvent(
                id=state.last_event_id,
                status=state.last_status,
                event_status=event_status,
                occurred_at=state.last_event_at,
                id_externo=id_externo,
                provider=provider,
                event_type=event_type,
                bounce_class=bounce_class,
                reject_reason=reject_reason,
            ),
            counts=counts.get(state.email, {}),
            suppression=suppressed.get(state.email),
        )
        for (
            state,
            event_status,
            id_externo,
            provider,
            event_type,
            bounce_class,
            reject_reason,
        ) in states
    ]


def _in_force(now: datetime) -> ColumnElement[bool]:
    # a soft-bounce suppression ends by itself: its row stays until recomputed, unread
    return or_(SuppressedAddress.until.is_(None), SuppressedAddress.until > now)


def list_suppressions(
    session: Session,
    *,
    reason: str | None,
    limit: int,
    after_email: str | None,
    now: datetime | None = None,
) -> tuple[list[SuppressionEntry], bool]:
    """Return up to ``limit`` addresses suppressed at ``now`` in address order after
    ``after_email``."""
    stmt = (
        select(
            SuppressedAddress.email,
            SuppressedAddress.reason,
            SuppressedAddress.since,
            SuppressedAddress.source,
            SuppressedAddress.until,
        )
        .where(_in_force(now or utcnow()))
        .order_by(SuppressedAddress.email)
        .limit(limit + 1)
    )
    if reason is not None:
        stmt = stmt.where(SuppressedAddress.reason == reason)
    if after_email is not None:
        stmt = stmt.where(SuppressedAddress.email > after_email)
    rows = session.execute(stmt).all()
    return [SuppressionEntry(*row) for row in rows[:limit]], len(rows) > limit


def iter_suppressions(
    sessions: sessionmaker[Session], *, reason: str | None, chunk: int = 2000
) -> Iterator[list[SuppressionEntry]]:
    """Yield every suppressed address in chunks, each read in a short transaction of its own."""
    after: str | None = None
    while True:
        with sessions.begin() as session:
            page, more = list_suppressions(session, reason=reason, limit=chunk, after_email=after)
        if page:
            yield page
        if not more:
            return
        after = page[-1].email


def latest_callbacks(
    session: Session, *, limit: int, qj_contact_id: int | None = None
) -> list[EmailCallback]:
    """Return the latest stored events, newest first (of one contact, when given)."""
    stmt = select(EmailCallback).order_by(EmailCallback.id.desc()).limit(limit)
    if qj_contact_id is not None:
        stmt = stmt.where(EmailCallback.qj_contact_id == qj_contact_id)
    return list(session.execute(stmt).scalars())
