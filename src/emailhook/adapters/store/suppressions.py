"""The suppression list in the database: evidence and lifts merged by max, the list computed.

``suppression_evidence`` and ``suppression_lift`` are merged with upserts that keep minimums
and maximums only (the SQL form of ``domain.suppression.merge_evidence`` / ``merge_lifts``), so
they hold the same values in any arrival order. The ``suppression`` row of each touched address
is then recomputed from them by ``domain.suppression.active_suppression``: a cache of a pure
function of the merged values, written or deleted in the same transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from emailhook.adapters.db.bulk import BulkInsert, Kind
from emailhook.adapters.db.bulk_reads import SelectIn
from emailhook.adapters.db.models import (
    SuppressedAddress,
    SuppressionEvidence,
    SuppressionLift,
    SuppressionRemoval,
)
from emailhook.domain.suppression import (
    REASON_RANK,
    ActiveSuppression,
    Evidence,
    Lift,
    Lifts,
    Source,
    SuppressionReason,
    active_reasons,
    active_suppression,
    merge_evidence,
    merge_lifts,
)

#: addresses per ``IN (...)``
_IN_CHUNK = 500
#: addresses per lookup of their evidence and lifts: a campaign's chunk in one statement
_LOOKUP_CHUNK = 1000

EvidenceKey = tuple[str, SuppressionReason, Source]


def add_evidence(session: Session, found: Mapping[EvidenceKey, Evidence]) -> None:
    """Merge evidence into ``suppression_evidence`` (earliest first, latest last)."""
    rows = [
        (email, reason.value, source.value, item.first_at, item.last_at)
        for (email, reason, source), item in sorted(found.items())
    ]
    if rows:
        _MERGE_EVIDENCE.execute(session.connection(), rows)


def add_lifts(session: Session, lifts: Mapping[str, Lifts]) -> None:
    """Merge lifts into ``suppression_lift`` (the latest of each kind)."""
    rows = [
        (email, item.removed_at, item.unblocked_at, item.delivered_at)
        for email, item in sorted(lifts.items())
    ]
    if rows:
        _MERGE_LIFTS.execute(session.connection(), rows)


def lock_and_lift(session: Session, emails: Sequence[str], lifts: Mapping[str, Lifts]) -> None:
    """Merge ``lifts`` and lock the ``suppression_lift`` row of every address in ``emails``.

    Concurrent workers thus update one address's suppression in turn, on PostgreSQL by the
    row lock the upsert takes until commit (SQLite has one writer at a time already): without
    it two transactions each adding a soft bounce would each miss the other's and neither
    reach the limit, or one adding a delivery and one a bounce would each compute the list
    without the other's. The rows go in sorted order, after the batch's event, state and count
    rows and before its evidence and list rows, the order every writer follows: no deadlock.
    Being row locks, they need no room in PostgreSQL's shared lock table, however many
    addresses a batch has.
    """
    rows = [
        (email, item.removed_at, item.unblocked_at, item.delivered_at)
        for email in sorted(set(emails))
        for item in [lifts.get(email, Lifts())]
    ]
    if rows:
        _MERGE_LIFTS.execute(session.connection(), rows)


def collect_evidence(
    items: Iterable[tuple[str, SuppressionReason, Source, datetime, datetime]],
) -> dict[EvidenceKey, Evidence]:
    """Return evidence merged per (address, reason, source)."""
    found: dict[EvidenceKey, Evidence] = {}
    for email, reason, source, first_at, last_at in items:
        key = (email, reason, source)
        item = Evidence(reason, source, first_at, last_at)
        found[key] = merge_evidence(found[key], item) if key in found else item
    return found


def collect_lifts(items: Iterable[tuple[str, Lift, datetime]]) -> dict[str, Lifts]:
    """Return lifts merged per address."""
    found: dict[str, Lifts] = {}
    for email, lift, at in items:
        item = Lifts(**{f"{lift.value}_at": at})
        found[email] = merge_lifts(found[email], item) if email in found else item
    return found


def refresh(session: Session, emails: Iterable[str], window: timedelta | None) -> None:
    """Recompute the ``suppression`` rows of ``emails`` from their evidence and lifts."""
    ordered = sorted(set(emails))
    for start in range(0, len(ordered), _IN_CHUNK):
        # An address without evidence has no suppression row either (they are written and
        # cleared together): most touched addresses are deliveries' lifts, and stop here.
        evidence = _evidence_of(session, ordered[start : start + _IN_CHUNK])
        chunk = sorted(evidence)
        if not chunk:
            continue
        lifts = _lifts_of(session, chunk)
        rows, gone = [], []
        for email in chunk:
            found = active_suppression(evidence.get(email, []), lifts.get(email, Lifts()), window)
            if found is None:
                gone.append(email)
            else:
                rows.append(_row(email, found))
        if gone:
            session.execute(delete(SuppressedAddress).where(SuppressedAddress.email.in_(gone)))
        if rows:
            _PUT_SUPPRESSIONS.execute(session.connection(), rows)


def refresh_all(session: Session, window: timedelta | None, chunk: int = 5000) -> int:
    """Recompute every address that has evidence; return how many were read."""
    after, total = "", 0
    while True:
        emails = list(
            session.execute(
                select(SuppressionEvidence.email)
                .where(SuppressionEvidence.email > after)
                .group_by(SuppressionEvidence.email)
                .order_by(SuppressionEvidence.email)
                .limit(chunk)
            ).scalars()
        )
        if not emails:
            return total
        refresh(session, emails, window)
        after, total = emails[-1], total + len(emails)


def clear_derived(session: Session) -> None:
    """Delete what events gave (evidence of source emailhook, lifts, the list) for a rebuild;
    Infobip's imported evidence and operators' removals stay: they are not events."""
    session.execute(
        delete(SuppressionEvidence).where(SuppressionEvidence.source == Source.EMAILHOOK.value)
    )
    session.execute(delete(SuppressionLift))
    session.execute(delete(SuppressedAddress))


def restore_removals(session: Session) -> None:
    """Merge every recorded removal into the lifts again (after :func:`clear_derived`)."""
    rows = session.execute(select(SuppressionRemoval.email, SuppressionRemoval.removed_at))
    add_lifts(session, collect_lifts((email, Lift.REMOVED, at) for email, at in rows))


def record_removal(
    session: Session, email: str, *, at: datetime, operator: str, reason: str
) -> SuppressionRemoval:
    """Record an operator's removal and lift every reason suppressed before ``at``."""
    current = session.get(SuppressedAddress, email)
    if current is not None and current.until is not None and current.until <= at:
        current = None  # a soft-bounce suppression that ended by itself
    removal = SuppressionRemoval(
        email=email,
        removed_at=at,
        operator=operator,
        reason=reason,
        was_reason=current.reason if current else None,
        was_source=current.source if current else None,
    )
    session.add(removal)
    session.flush()
    lock_and_lift(session, [email], {email: Lifts(removed_at=at)})
    return removal


def active_reasons_of(
    session: Session, emails: Sequence[str], window: timedelta | None, now: datetime
) -> dict[str, list[ActiveSuppression]]:
    """Return each of ``emails`` that is suppressed at ``now`` with every active reason, most
    severe first, computed from the evidence (the ``suppression`` row keeps only the first)."""
    found: dict[str, list[ActiveSuppression]] = {}
    connection = session.connection()
    for start in range(0, len(emails), _LOOKUP_CHUNK):
        chunk = list(dict.fromkeys(emails[start : start + _LOOKUP_CHUNK]))
        evidence: dict[str, list[Evidence]] = defaultdict(list)
        lifts: dict[str, Lifts] = {}
        for email, reason, source, first, last, *lifted in _EVIDENCE_AND_LIFTS.fetch(
            connection, chunk
        ):
            evidence[email].append(Evidence(SuppressionReason(reason), Source(source), first, last))
            lifts[email] = Lifts(*lifted)
        for email, items in evidence.items():
            active = active_reasons(items, lifts[email], window, now)
            if active:
                found[email] = active
    return found


#: an address's evidence, each row with the address's lifts (none: NULLs), in one statement
_EVIDENCE_AND_LIFTS = SelectIn(
    "suppression_evidence e LEFT JOIN suppression_lift l ON l.email = e.email",
    "e.email",
    [
        ("e.email", Kind.TEXT),
        ("e.reason", Kind.TEXT),
        ("e.source", Kind.TEXT),
        ("e.first_at", Kind.TIME),
        ("e.last_at", Kind.TIME),
        ("l.removed_at", Kind.TIME),
        ("l.unblocked_at", Kind.TIME),
        ("l.delivered_at", Kind.TIME),
    ],
)


def _evidence_of(session: Session, emails: Sequence[str]) -> dict[str, list[Evidence]]:
    found: dict[str, list[Evidence]] = defaultdict(list)
    stmt = select(SuppressionEvidence).where(SuppressionEvidence.email.in_(emails))
    for row in session.execute(stmt).scalars():
        found[row.email].append(
            Evidence(SuppressionReason(row.reason), Source(row.source), row.first_at, row.last_at)
        )
    return found


def _lifts_of(session: Session, emails: Sequence[str]) -> dict[str, Lifts]:
    stmt = select(SuppressionLift).where(SuppressionLift.email.in_(emails))
    return {
        row.email: Lifts(row.removed_at, row.unblocked_at, row.delivered_at)
        for row in session.execute(stmt).scalars()
    }


def _row(email: str, item: ActiveSuppression) -> tuple[object, ...]:
    return (
        email,
        item.reason.value,
        REASON_RANK[item.reason],
        item.since,
        item.source.value,
        item.until,
    )


_T, _TIME = Kind.TEXT, Kind.TIME


def _latest(table: str, column: str) -> str:
    new, old = f"excluded.{column}", f"{table}.{column}"
    return (
        f"{column} = CASE WHEN {new} IS NOT NULL AND ({old} IS NULL OR {new} > {old})"
        f" THEN {new} ELSE {old} END"
    )


_MERGE_EVIDENCE = BulkInsert(
    "suppression_evidence",
    [("email", _T), ("reason", _T), ("source", _T), ("first_at", _TIME), ("last_at", _TIME)],
    "ON CONFLICT (email, reason, source) DO UPDATE SET "
    "first_at = CASE WHEN excluded.first_at < suppression_evidence.first_at"
    " THEN excluded.first_at ELSE suppression_evidence.first_at END, "
    + _latest("suppression_evidence", "last_at"),
)

_MERGE_LIFTS = BulkInsert(
    "suppression_lift",
    [("email", _T), ("removed_at", _TIME), ("unblocked_at", _TIME), ("delivered_at", _TIME)],
    "ON CONFLICT (email) DO UPDATE SET "
    + ", ".join(
        _latest("suppression_lift", column)
        for column in ("removed_at", "unblocked_at", "delivered_at")
    ),
)

_PUT_SUPPRESSIONS = BulkInsert(
    "suppression",
    [
        ("email", _T),
        ("reason", _T),
        ("reason_rank", Kind.INTEGER),
        ("since", _TIME),
        ("source", _T),
        ("until", _TIME),
    ],
    "ON CONFLICT (email) DO UPDATE SET reason = excluded.reason,"
    " reason_rank = excluded.reason_rank, since = excluded.since,"
    " source = excluded.source, until = excluded.until",
)
