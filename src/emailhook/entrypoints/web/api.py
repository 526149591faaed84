"""The read-only query API: stored events, per-contact status, the suppression list, and the
numbers (``GET /stats``)."""

from __future__ import annotations

from collections.abc import Iterator

from flask import Blueprint, Response, g, jsonify, request
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.exceptions import NotFound

from emailhook.adapters.reads import queries, stats
from emailhook.domain.csv_cells import csv_lines
from emailhook.domain.suppression import SuppressionReason
from emailhook.entrypoints.web import params
from emailhook.entrypoints.web.access import operators_only
from emailhook.entrypoints.web.services import current_services
from emailhook.service.errors import InvalidQueryError

api = Blueprint("api", __name__)
api.before_request(operators_only)  # e-mail addresses and who complained: operators only

DEFAULT_LIMIT, MAX_LIMIT = 100, 1000
CSV_COLUMNS = ("email", "reason", "since", "source", "until")


def _sessions() -> sessionmaker[Session]:
    return current_services().reads.sessions


def _limit() -> int:
    limit = params.integer(request.args, "limit", minimum=1, maximum=MAX_LIMIT)
    return DEFAULT_LIMIT if limit is None else limit


@api.get("/email-callbacks")
def list_email_callbacks() -> Response:
    """Stored events, newest first, filtered, one page at a time."""
    args = request.args
    where = params.callback_filter(args)
    cursor = params.decode_cursor(args)
    before = params.parse_integer(cursor, "cursor", minimum=1) if cursor else None
    with _sessions().begin() as session:
        items, more = queries.list_callbacks(session, where, limit=_limit(), before_id=before)
    next_cursor = params.encode_cursor(items[-1].id) if more else None
    return jsonify(items=items, next_cursor=next_cursor)


@api.get("/stats")
def show_stats() -> Response:
    """Events by type, messages by outcome and the rates, per group, within a window."""
    args = request.args
    by = params.choice(args, "by", list(stats.GROUPINGS)) or "none"
    provider = params.choice(args, "provider", params.PROVIDER_NAMES)
    since, until = params.instant(args, "since"), params.instant(args, "until")
    with _sessions().begin() as session:
        found = stats.stats(session, since=since, until=until, by=by, provider=provider)
    return jsonify(found.as_dict())


@api.get("/contacts/<qj_contact_id>")
def show_contact(qj_contact_id: str) -> Response:
    """Each address of a contact: derived status, last event, counts, suppression."""
    contact = params.parse_integer(qj_contact_id, "qj_contact_id")
    with _sessions().begin() as session:
        emails = queries.contact_emails(session, contact)
    if not emails:
        raise NotFound(f"no e-mail events stored for qj_contact_id {contact}")
    return jsonify(qj_contact_id=contact, emails=emails)


@api.get("/suppressions")
def list_suppressions() -> Response:
    """Addresses not to mail: JSON pages, or the whole list as CSV."""
    reason = params.choice(request.args, "reason", list(SuppressionReason))
    if _wants_csv():
        return Response(
            _csv_rows(_sessions(), reason),
            mimetype="text/csv",
            headers={"Content-Disposition": 'attachment; filename="suppressions.csv"'},
        )
    with _sessions().begin() as session:
        items, more = queries.list_suppressions(
            session, reason=reason, limit=_limit(), after_email=params.decode_cursor(request.args)
        )
    next_cursor = params.encode_cursor(items[-1].email) if more else None
    return jsonify(items=items, next_cursor=next_cursor)


@api.delete("/suppressions/<email>")
def remove_suppression(email: str) -> Response:
    """Take an address off the suppression list, with a reason; recorded with who and when."""
    body = request.get_json(silent=True)
    reason = body.get("reason") if isinstance(body, dict) else None
    if not isinstance(reason, str):
        reason = request.args.get("reason", "")
    removal = current_services().operations.remove_suppression(
        email, reason=reason, operator=g.operator
    )
    return jsonify(removed=removal, was_listed=removal.was_reason is not None)


def _wants_csv() -> bool:
    fmt = request.args.get("format")
    if fmt is not None:
        if fmt not in ("json", "csv"):
            raise InvalidQueryError(f"format must be json or csv, not {fmt[:40]!r}")
        return fmt == "csv"
    best = request.accept_mimetypes.best_match(["application/json", "text/csv"])
    return best == "text/csv"


def _csv_rows(sessions: sessionmaker[Session], reason: str | None) -> Iterator[str]:
    chunks = (
        (
            (
                s.email,
                s.reason,
                s.since.isoformat(),
                s.source,
                s.until.isoformat() if s.until else "",
            )
            for s in chunk
        )
        for chunk in queries.iter_suppressions(sessions, reason=reason)
    )
    return csv_lines(CSV_COLUMNS, chunks)
