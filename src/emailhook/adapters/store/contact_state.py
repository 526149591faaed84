"""Derived state, merged in bulk from newly stored events in the transaction that stores them.

Each upsert is the SQL form of a merge in ``domain``: the status of highest rank, the last
event by (time, id), counts added, the worst suppression reason since the earliest one. Rows are
aggregated per key first (one statement row per key) and sorted, so that concurrent workers
lock rows in one order.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from emailhook.adapters.db.bulk import BulkInsert, Kind
from emailhook.adapters.db.models import (
    ContactEmailCount,
    ContactEmailState,
    EmailCallback,
    SuppressedAddress,
)
from emailhook.domain.email_status import (
    RANK,
    EmailStatus,
    Observation,
    classify_event,
    summarize,
)
from emailhook.domain.suppression import (
    REASON_RANK,
    SUPPRESSING_STATUSES,
    SoftBounceRule,
    Suppression,
    SuppressionReason,
    combine,
)
from emailhook.domain.vocabulary import EventType

#: addresses per ``IN (...)`` when reading soft bounces
_IN_CHUNK = 500
#: first key of the advisory locks taken per address (two-key locks: apart from migrations')
_SOFT_BOUNCE_LOCK_SPACE = 0x50F7


def record(session: Session, observations: Sequence[Observation], rule: SoftBounceRule) -> None:
    """Merge newly stored events into contact state, status counts and the suppression list."""
    if not observations:
        return
    _merge_states(session, observations)
    _add_counts(session, observations)
    suppressions = _single_event_suppressions(observations)
    soft = sorted({o.email for o in observations if o.email and _is_soft(o)})
    _serialize_soft_bounce_counts(session, soft)
    for email, since in _soft_bounce_breaches(session, soft, rule):
        found = Suppression(SuppressionReason.SOFT_BOUNCES, since)
        suppressions[email] = (
            combine(suppressions[email], found) if email in suppressions else found
        )
    _merge_suppressions(session, suppressions)


def rebuild(session: Session, rule: SoftBounceRule, batch_size: int = 5000) -> int:
    """Recompute every derived table from ``email_callback``; return the events read."""
    for model in (ContactEmailState, ContactEmailCount, SuppressedAddress):
        session.execute(delete(model))
    after, total = 0, 0
    while True:
        stmt = (
            select(
                EmailCallback.id,
                EmailCallback.qj_contact_id,
                EmailCallback.email,
                EmailCallback.status,
                EmailCallback.error_id,
                EmailCallback.error_permanent,
                func.coalesce(EmailCallback.event_at, EmailCallback.data_recebimento),
                *_VOCABULARY,
            )
            .where(EmailCallback.id > after)
            .order_by(EmailCallback.id)
            .limit(batch_size)
        )
        rows = session.execute(stmt).all()
        if not rows:
            return total
        record(session, [_observation(*row) for row in rows], rule)
        after, total = rows[-1][0], total + len(rows)


def _observation(
    event_id: int,
    qj_contact_id: int | None,
    email: str | None,
    status: str | None,
    error_id: int | None,
    error_permanent: bool | None,
    occurred_at: datetime,
    *vocabulary: str | None,
) -> Observation:
    return Observation(
        event_id,
        qj_contact_id,
        email,
        _classify(status, error_id, error_permanent, *vocabulary),
        occurred_at,
    )


#: the columns that classify an event of any provider, beside Infobip's status and error
_VOCABULARY = (
    EmailCallback.provider,
    EmailCallback.event_type,
    EmailCallback.bounce_class,
    EmailCallback.reject_reason,
)


def _classify(
    status: str | None,
    error_id: int | None,
    error_permanent: bool | None,
    *vocabulary: str | None,
) -> EmailStatus:
    provider, event_type, bounce_class, reject_reason = vocabulary
    return classify_event(
        provider or "infobip",
        status,
        error_id,
        error_permanent,
        event_type=event_type,
        bounce_class=bounce_class,
        reject_reason=reject_reason,
    )


def _merge_states(session: Session, observations: Iterable[Observation]) -> None:
    groups: dict[tuple[int, str], list[Observation]] = defaultdict(list)
    for o in observations:
        if o.qj_contact_id is not None and o.email:
            groups[(o.qj_contact_id, o.email)].append(o)
    if not groups:
        return
    rows = []
    for (contact, email), group in sorted(groups.items()):
        summary = summarize(group)
        rows.append(
            (
                contact,
                email,
                summary.status.value,
                RANK[summary.status],
                summary.status_since,
                summary.last_event_id,
                summary.last_event_at,
                summary.last_status.value,
            )
        )
    _MERGE_STATES.execute(session.connection(), rows)


def _add_counts(session: Session, observations: Iterable[Observation]) -> None:
    counts = Counter(
        (o.qj_contact_id, o.email, o.status.value)
        for o in observations
        if o.qj_contact_id is not None and o.email
    )
    if not counts:
        return
    rows = [(contact, email, status, n) for (contact, email, status), n in sorted(counts.items())]
    _ADD_COUNTS.execute(session.connection(), rows)


def _single_event_suppressions(observations: Iterable[Observation]) -> dict[str, Suppression]:
    found: dict[str, Suppression] = {}
    for o in observations:
        reason = SUPPRESSING_STATUSES.get(o.status)
        if reason is None or not o.email:
            continue
        item = Suppression(reason, o.occurred_at)
        found[o.email] = combine(found[o.email], item) if o.email in found else item
    return found


def _is_soft(observation: Observation) -> bool:
    return observation.status is EmailStatus.SOFT_BOUNCE


def _serialize_soft_bounce_counts(session: Session, emails: Sequence[str]) -> None:
    """On PostgreSQL, make concurrent workers count one address's soft bounces in turn.

    Without it two transactions each adding a bounce would each see the other's as not yet
    committed, and neither might reach the limit. The locks last until commit and are taken in
    sorted order after the batch's event, state and count rows and before its suppression rows,
    the order every worker follows: no deadlock. (SQLite has one writer at a time already.)
    """
    if not emails or session.get_bind().dialect.name != "postgresql":
        return
    session.execute(
        text(
            "SELECT pg_advisory_xact_lock(:space, hashtext(email))"
            " FROM (SELECT unnest(CAST(:emails AS text[])) AS email ORDER BY 1) AS sorted"
        ),
        {"space": _SOFT_BOUNCE_LOCK_SPACE, "emails": list(emails)},
    )


def _soft_bounce_breaches(
    session: Session, emails: Sequence[str], rule: SoftBounceRule
) -> Iterator[tuple[str, datetime]]:
    """Yield (address, since) for each address whose stored soft bounces meet the rule.

    Every provider's bounces count (``ix_email_callback_email_event_type`` serves the read);
    each is classified as it was when stored, so only soft ones (Infobip's by its error)
    count.
    """
    for start in range(0, len(emails), _IN_CHUNK):
        stmt = select(
            EmailCallback.email,
            EmailCallback.event_at,
            EmailCallback.data_recebimento,
            EmailCallback.status,
            EmailCallback.error_id,
            EmailCallback.error_permanent,
            *_VOCABULARY,
        ).where(
            EmailCallback.email.in_(emails[start : start + _IN_CHUNK]),
            EmailCallback.event_type == EventType.BOUNCED,
        )
        bounces: dict[str, list[datetime]] = defaultdict(list)
        for email, event_at, received_at, *classified in session.execute(stmt):
            if email and _classify(*classified) is EmailStatus.SOFT_BOUNCE:
                bounces[email].append(event_at or received_at)
        for email, times in sorted(bounces.items()):
            since = rule.first_breach(times)
            if since is not None:
                yield email, since


def _merge_suppressions(session: Session, suppressions: dict[str, Suppression]) -> None:
    if not suppressions:
        return
    rows = [
        (email, item.reason.value, REASON_RANK[item.reason], item.since)
        for email, item in sorted(suppressions.items())
    ]
    _MERGE_SUPPRESSIONS.execute(session.connection(), rows)


# The upserts: each the SQL form of a merge in ``domain``. SET expressions read the row as it
# was before the update, on both databases.
_T, _I, _N, _TIME = Kind.TEXT, Kind.BIGINT, Kind.INTEGER, Kind.TIME
_HIGHER = "excluded.status_rank > contact_email_state.status_rank"
_EARLIER_SAME = (
    "excluded.status_rank = contact_email_state.status_rank"
    " AND excluded.status_since < contact_email_state.status_since"
)
_LATER = (
    "excluded.last_event_at > contact_email_state.last_event_at"
    " OR (excluded.last_event_at = contact_email_state.last_event_at"
    " AND excluded.last_event_id > contact_email_state.last_event_id)"
)


def _pick(condition: str, table: str, column: str) -> str:
    return f"{column} = CASE WHEN {condition} THEN excluded.{column} ELSE {table}.{column} END"


_MERGE_STATES = BulkInsert(
    "contact_email_state",
    [
        ("qj_contact_id", _I),
        ("email", _T),
        ("status", _T),
        ("status_rank", _N),
        ("status_since", _TIME),
        ("last_event_id", _I),
        ("last_event_at", _TIME),
        ("last_status", _T),
    ],
    "ON CONFLICT (qj_contact_id, email) DO UPDATE SET "
    + ", ".join(
        [
            _pick(_HIGHER, "contact_email_state", "status"),
            _pick(_HIGHER, "contact_email_state", "status_rank"),
            _pick(f"{_HIGHER} OR ({_EARLIER_SAME})", "contact_email_state", "status_since"),
            _pick(_LATER, "contact_email_state", "last_event_id"),
            _pick(_LATER, "contact_email_state", "last_event_at"),
            _pick(_LATER, "contact_email_state", "last_status"),
        ]
    ),
)

_ADD_COUNTS = BulkInsert(
    "contact_email_count",
    [("qj_contact_id", _I), ("email", _T), ("status", _T), ("events", _N)],
    "ON CONFLICT (qj_contact_id, email, status)"
    " DO UPDATE SET events = contact_email_count.events + excluded.events",
)

_WORSE = "excluded.reason_rank > suppression.reason_rank"
_MERGE_SUPPRESSIONS = BulkInsert(
    "suppression",
    [("email", _T), ("reason", _T), ("reason_rank", _N), ("since", _TIME)],
    "ON CONFLICT (email) DO UPDATE SET "
    + ", ".join(
        [
            _pick(_WORSE, "suppression", "reason"),
            _pick(_WORSE, "suppression", "reason_rank"),
            _pick("excluded.since < suppression.since", "suppression", "since"),
        ]
    ),
)
