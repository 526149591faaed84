"""A campaign's recipients written to the outbox a chunk at a time: each chunk checked as a
``POST /messages`` request of its recipients (``SendApi.prepare_recipients``), its rows built,
then written in one transaction; every bad record named, nothing written after the first.

In one thread: a writer thread overlapping the next chunk's checks was slower on SQLite (each
step of its statements wins the GIL back from the checking thread) and no faster on
PostgreSQL (docs/performance.md, "Second round").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from emailhook.adapters.db.engine import dialect_of, patient
from emailhook.adapters.store import campaigns, outbox_bulk
from emailhook.domain.clock import utcnow
from emailhook.domain.sending.campaign import line_errors
from emailhook.domain.sending.campaign_records import Bad, Record
from emailhook.domain.sending.message import OutgoingMessage, SendState
from emailhook.service.errors import InvalidRequestError, StorageUnavailableError
from emailhook.service.send.accept import Prepared, SendApi

#: recipients written a transaction (and at most held at once)
CHUNK = 1000
#: an upload's write may wait this long for a lock or a statement (the web's own bound is
#: 1 s, for a webhook's answer; a refusal here discards the whole upload)
WAIT_SECONDS = 30.0
#: bad records named in a refusal at most (the upload is read on to find them, writing nothing)
MAX_BAD_LINES = 20


@dataclass(frozen=True, slots=True)
class Recipients:
    """An upload's recipient records and how its errors name them."""

    records: Iterator[Record]
    #: a record's name in errors (``line``, ``row``)
    unit: str
    #: the number of the first recipient's record
    first: int


@contextmanager
def writing(sessions: sessionmaker[Session], *, later_durable: bool = False) -> Iterator[Session]:
    """A write transaction of an upload, waiting up to ``WAIT_SECONDS`` for the database (the
    web's own bound is 1 s: a refusal would discard the whole upload)."""
    with sessions.begin() as session:
        patient(session, wait_seconds=WAIT_SECONDS, later_durable=later_durable)
        yield session


class CampaignWriter:
    """Writes one campaign's recipients."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        api: SendApi,
        *,
        chunk: int = CHUNK,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._api = api
        self._chunk = chunk
        self._clock = clock
        self._dialect = dialect_of(sessions)

    def write(
        self,
        public_id: str,
        base: Prepared,
        shared: dict[str, Any],
        recipients: Recipients,
        now: datetime,
    ) -> dict[str, int]:
        """Write ``recipients`` as messages of campaign ``public_id`` (``base``: its message
        checked; ``shared``: the part of it every row shares); return the counts. Raises
        InvalidRequestError naming the bad records (the caller discards what was written)."""
        counted = {"recipients": 0, "duplicates": 0, "suppressed": 0}
        bad: dict[str, list[str]] = {}
        chunk: list[tuple[int, Any]] = []
        unit = recipients.unit

        def write(prepared: Prepared) -> None:
            self._write_chunk(public_id, self._rows(public_id, prepared, shared, now), counted)

        for number, item in recipients.records:
            if isinstance(item, Bad):
                bad[f"{unit} {number}"] = [item.problem]
                if item.last:
                    break
            else:
                chunk.append((number, item))
            if len(chunk) >= self._chunk:
                self._check(base, chunk, bad, write, unit)
                chunk = []
            if len(bad) >= MAX_BAD_LINES:
                break
        if chunk and len(bad) < MAX_BAD_LINES:
            self._check(base, chunk, bad, write, unit)
        if bad:
            raise InvalidRequestError(
                f"the upload has bad {unit}s; nothing of the campaign is kept", bad
            )
        if not counted["recipients"] and not counted["duplicates"]:
            raise InvalidRequestError(
                "the campaign has no recipients",
                {f"{unit} {recipients.first}": [f"one recipient a {unit}"]},
            )
        return counted

    def _check(
        self,
        base: Prepared,
        chunk: list[tuple[int, Any]],
        bad: dict[str, list[str]],
        write: Callable[[Prepared], None],
        unit: str,
    ) -> None:
        """Check a chunk of recipients and, while no record was bad, write it."""
        try:
            prepared = self._api.prepare_recipients(
                base, [item for _, item in chunk], rendered=False
            )
        except InvalidRequestError as error:
            bad.update(line_errors(error.errors, [n for n, _ in chunk], unit))
            return
        if not bad:
            write(prepared)

    def _rows(
        self, public_id: str, prepared: Prepared, shared: dict[str, Any], now: datetime
    ) -> _Rows:
        """Return a checked chunk's rows, each address once (the first of the chunk), each
        recipient on the suppression list (read now) ``suppressed``."""
        fresh: dict[str, OutgoingMessage] = {}
        for message in prepared.messages:
            fresh.setdefault(message.to.email, message)
        with self._sessions.begin() as session:
            rows = self._api.rows(session, replace(prepared, messages=list(fresh.values())), now)
        built = outbox_bulk.build(
            rows, public_id, now, campaign_id=public_id, dialect=self._dialect, shared=shared
        )
        return _Rows(built, len(prepared.messages))

    def _write_chunk(self, public_id: str, rows: _Rows, counted: dict[str, int]) -> None:
        """Write a chunk's rows but those whose address the campaign has already (left out
        by the database: a unique index). Not durable at once: the campaign's start,
        committed last, is."""
        with writing(self._sessions, later_durable=True) as session:
            if not campaigns.touch(session, public_id, self._clock()):
                raise StorageUnavailableError(
                    "the upload stalled and was discarded; send the campaign again"
                )
            added = outbox_bulk.insert(session, rows.built)
        counted["duplicates"] += rows.lines - len(added)
        counted["recipients"] += len(added)
        counted["suppressed"] += sum(r.state is SendState.SUPPRESSED for r in added)


@dataclass(frozen=True, slots=True)
class _Rows:
    """A checked chunk's rows, built before its write transaction begins."""

    built: outbox_bulk.Built
    #: the chunk's recipients, duplicates within it included
    lines: int
