"""Derived state, merged in bulk from newly stored events in the transaction that stores them.

Each upsert is the SQL form of a merge in ``domain``: the status of highest rank, the last
event by (time, id), counts added; the suppression list's evidence and lifts by max (see
``store.suppressions``). Rows are aggregated per key first (one statement row per key) and
sorted, so that concurrent workers lock rows in one order.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from emailhook.adapters.db.bulk import BulkInsert, Kind
from emailhook.adapters.db.models import (
    ContactEmailCount,
    ContactEmailState,
    EmailCallback,
)
from emailhook.adapters.store import flagged_events, suppressions
from emailhook.domain.addresses import is_address
from emailhook.domain.clock import utcnow
from emailhook.domain.email_status import (
    RANK,
    EmailStatus,
    Observation,
    classify_vocabulary,
    summarize,
)
from emailhook.domain.suppression import (
    SUPPRESSING_STATUSES,
    Lift,
    SoftBounceRule,
    Source,
    SuppressionReason,
    last_breach,
)
from emailhook.domain.vocabulary import EventType

#: addresses per ``IN (...)`` when reading soft bounces
_IN_CHUNK = 500


def record(session: Session, observations: Sequence[Observation], rule: SoftBounceRule) -> None:
    """Merge newly stored events into contact state, status counts and the suppression list."""
    if not observations:
        return
    _merge_states(session, observations)
    _add_counts(session, observations)
    found = list(_single_event_evidence(observations))
    lifts = suppressions.collect_lifts(_lifts(observations))
    soft = sorted({o.email for o in observations if o.email and _is_soft(o)})
    touched = sorted({item[0] for item in found} | set(lifts) | set(soft))
    # first: the lifts of every touched address, which locks its row until commit (below)
    suppressions.lock_and_lift(session, touched, lifts)
    for email, first, last in _soft_bounce_breaches(session, soft, rule):
        found.append((email, SuppressionReason.SOFT_BOUNCES, Source.EMAILHOOK, first, last))
    suppressions.add_evidence(session, suppressions.collect_evidence(found))
    suppressions.refresh(session, touched, rule.suppress_for)


def rebuild(
    session: Session,
    rule: SoftBounceRule,
    batch_size: int = 5000,
    on_batch: Callable[[int], None] = lambda events: None,
    now: datetime | None = None,
) -> int:
    """Recompute every derived table from ``email_callback`` (and the suppression list from
    its events, operators' removals and Infobip's imported lists); return the events read.

    An event whose recipient is not an e-mail address (stored before such events were set
    aside at receipt) is flagged (``flagged_events``) and left out; so is imported evidence
    naming no address. The events stay."""
    for model in (ContactEmailState, ContactEmailCount):
        session.execute(delete(model))
    suppressions.clear_derived(session)
    flagged_events.drop_evidence_of_non_addresses(session)
    suppressions.restore_removals(session)
    now = now or utcnow()
    after, total = 0, 0
    while True:
        stmt = (
            select(
                EmailCallback.id,
                EmailCallback.qj_contact_id,
                EmailCallback.email,
                func.coalesce(EmailCallback.event_at, EmailCallback.data_recebimento),
                *_VOCABULARY,
            )
            .where(EmailCallback.id > after)
            .order_by(EmailCallback.id)
            .limit(batch_size)
        )
        rows = session.execute(stmt).all()
        if not rows:
            # addresses with no events since the last batch: imported ones, removed ones
            suppressions.refresh_all(session, rule.suppress_for)
            return total
        kept = [row for row in rows if row[2] is None or is_address(row[2])]
        if len(kept) < len(rows):
            apart = [row[0] for row in rows if row[2] is not None and not is_address(row[2])]
            flagged_events.flag(session, apart, flagged_events.NOT_AN_ADDRESS, at=now)
        record(session, [_observation(*row) for row in kept], rule)
        after, total = rows[-1][0], total + len(rows)
        on_batch(len(rows))


def _observation(
    event_id: int,
    qj_contact_id: int | None,
    email: str | None,
    occurred_at: datetime,
    *vocabulary: str | None,
) -> Observation:
    return Observation(
        event_id, qj_contact_id, email, classify_vocabulary(*vocabulary), occurred_at
    )


#: the columns that classify an event of any provider (``classify_vocabulary``)
_VOCABULARY = (
    EmailCallback.event_type,
    EmailCallback.bounce_class,
    EmailCallback.reject_reason,
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


def _single_event_evidence(
    observations: Iterable[Observation],
) -> Iterator[tuple[str, SuppressionReason, Source, datetime, datetime]]:
    for o in observations:
        reason = SUPPRESSING_STATUSES.get(o.status)
        if reason is not None and o.email:
            yield o.email, reason, Source.EMAILHOOK, o.occurred_at, o.occurred_at


#: events that end suppressions: an UNBLOCK ends an unsubscribe, a delivery soft bounces
_LIFTING: dict[EmailStatus, Lift] = {
    EmailStatus.UNBLOCKED: Lift.UNBLOCKED,
    EmailStatus.DELIVERED: Lift.DELIVERED,
}


def _lifts(observations: Iterable[Observation]) -> Iterator[tuple[str, Lift, datetime]]:
    for o in observations:
        lift = _LIFTING.get(o.status)
        if lift is not None and o.email:
            yield o.email, lift, o.occurred_at


def _is_soft(observation: Observation) -> bool:
    return observation.status is EmailStatus.SOFT_BOUNCE


def _soft_bounce_breaches(
    session: Session, emails: Sequence[str], rule: SoftBounceRule
) -> Iterator[tuple[str, datetime, datetime]]:
    """Yield (address, first, latest breach) for each address whose soft bounces meet the rule.

    Both are functions of the set of stored bounces, so the evidence is the same in any order.
    Every provider's bounces count (``ix_email_callback_email_event_type`` serves the read);
    each is classified by its vocabulary, so only soft ones count.
    """
    for start in range(0, len(emails), _IN_CHUNK):
        stmt = select(
            EmailCallback.email,
            EmailCallback.event_at,
            EmailCallback.data_recebimento,
            *_VOCABULARY,
        ).where(
            EmailCallback.email.in_(emails[start : start + _IN_CHUNK]),
            EmailCallback.event_type == EventType.BOUNCED,
        )
        bounces: dict[str, list[datetime]] = defaultdict(list)
        for email, event_at, received_at, *classified in session.execute(stmt):
            if email and classify_vocabulary(*classified) is EmailStatus.SOFT_BOUNCE:
                bounces[email].append(event_at or received_at)
        for email, times in sorted(bounces.items()):
            first, last = rule.first_breach(times), last_breach(rule, times)
            if first is not None and last is not None:
                yield email, first, last


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
