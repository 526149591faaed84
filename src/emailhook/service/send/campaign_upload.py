"""A campaign's upload: JSON Lines read as a stream and written to the outbox a chunk at a
time, checked as ``POST /messages`` checks a request.

The first line is the message, each other line a recipient, and at most one chunk of
recipients is held at once. Each chunk is checked as a ``POST /messages`` request of its
recipients (``SendApi.prepare``), so a campaign takes exactly what the send API takes. The
campaign is ``uploading`` meanwhile and none of its messages go; a bad line refuses the whole
upload (its error names the line) and what was written is deleted, so a campaign is either all
there or not at all: a sender fixes the file and sends it again, rather than working out which
recipients a half-taken campaign skipped.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from emailhook.adapters.db.engine import is_transient
from emailhook.adapters.store import campaigns, outbox
from emailhook.domain.clock import utcnow
from emailhook.domain.sending.campaign import CampaignState, line_errors, read_header
from emailhook.domain.sending.message import OutgoingMessage, SendState, new_public_id
from emailhook.domain.sending.validation import InvalidSendRequestError
from emailhook.service.errors import (
    ConflictError,
    IdempotencyMismatchError,
    InvalidRequestError,
    StorageUnavailableError,
)
from emailhook.service.send.accept import MAX_KEY_CHARS, Answer, SendApi

log = logging.getLogger("emailhook.send.campaigns")

#: recipients written a transaction (and at most held at once)
CHUNK = 1000
#: longest line taken, bytes (a recipient with its merge data and metadata)
MAX_LINE_BYTES = 64 * 1024
#: bad lines named in a refusal at most (the upload is read on to find them, writing nothing)
MAX_BAD_LINES = 20
#: an upload that wrote no chunk this long is abandoned (its process died, its client went
#: silent) and discarded
STALE_UPLOAD_SECONDS = 3600
#: a recipient the message's own fields are checked with (never written)
_PROBE = {"email": "probe@example.com"}


class CampaignUpload:
    """Accepts campaigns into the outbox."""

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

    def create(self, lines: Iterable[bytes], key: str | None = None) -> Answer:
        """Accept the upload ``lines`` (JSON Lines: the message, then one recipient a line):
        202 with the campaign's id and counts once every recipient is committed. With an
        ``Idempotency-Key``, the same key and upload again is answered the same, creating
        nothing (another upload: IdempotencyMismatchError; the first still uploading:
        ConflictError). Raises InvalidRequestError naming the bad lines (nothing kept, the
        key free again), StorageUnavailableError."""
        try:
            return self._create(lines, key)
        except SQLAlchemyError as error:
            if not is_transient(error):
                raise
            raise StorageUnavailableError("the database is busy or down; try again") from error

    def _create(self, raw: Iterable[bytes], key: str | None) -> Answer:
        now = self._clock()
        digest = hashlib.sha256(b"POST /campaigns\n")
        lines = _hashed(raw, digest)
        key_hash = _key_hash(key)
        if key_hash is not None:
            replayed = self._replay(key_hash, lines, digest)
            if replayed is not None:
                return replayed
        numbered = _numbered(lines)
        first = next(numbered, None)
        if first is None:
            raise InvalidRequestError(
                "the upload is empty", {"line 1": ["the message: a JSON object"]}
            )
        fields, rate, provider = self._header(first[1])
        public_id = new_public_id("cmp_")
        try:
            with self._sessions.begin() as session:
                campaigns.create(
                    session,
                    public_id,
                    provider=provider,
                    document=fields,
                    rate=rate,
                    now=now,
                    idempotency_key=key_hash,
                )
        except IntegrityError:
            raise ConflictError(
                "a campaign with this Idempotency-Key is still being uploaded"
            ) from None
        try:
            counted = self._write(public_id, fields, numbered, now)
        except BaseException:
            self._discard(public_id)
            raise
        with self._sessions.begin() as session:
            campaigns.start(
                session, public_id, now=self._clock(), request_hash=digest.hexdigest(), **counted
            )
        log.info("accepted campaign %s: %s", public_id, counted)
        return Answer(202, _accepted(public_id, counted))

    def _replay(self, key_hash: str, lines: Iterator[bytes], digest: Any) -> Answer | None:
        """Return the answer already given for the key (the upload read to its end and
        compared), or None when no campaign has it."""
        with self._sessions.begin() as session:
            row = campaigns.by_key(session, key_hash)
            if row is None:
                return None
            if row.state == CampaignState.UPLOADING.value:
                raise ConflictError("a campaign with this Idempotency-Key is still being uploaded")
            public_id, kept = row.public_id, row.request_hash
            counted = {
                "recipients": row.recipients,
                "duplicates": row.duplicates,
                "suppressed": row.suppressed,
            }
        for _ in lines:  # the upload's hash, holding a line at a time
            pass
        if digest.hexdigest() != kept:
            raise IdempotencyMismatchError("this Idempotency-Key was used with another upload")
        return Answer(202, _accepted(public_id, counted), replayed=True)

    def _header(self, line: bytes) -> tuple[dict[str, Any], float | None, str]:
        """Return the first line's message fields, rate and provider (the message checked
        as ``POST /messages`` checks it, with one stand-in recipient)."""
        try:
            fields, rate = read_header(_json(line))
        except InvalidSendRequestError as error:
            raise InvalidRequestError(
                "the first line is not a campaign's message", error.errors
            ) from None
        except ValueError as error:
            raise InvalidRequestError(
                "the first line is not JSON", {"line 1": [str(error)]}
            ) from None
        try:
            prepared = self._api.prepare({**fields, "to": [_PROBE]}, self._clock())
        except InvalidRequestError as error:
            errors = {f"line 1.{k}": v for k, v in error.errors.items()}
            raise InvalidRequestError(
                "the first line is not a campaign's message", errors
            ) from None
        return fields, rate, prepared.request.provider

    def _write(
        self,
        public_id: str,
        fields: dict[str, Any],
        numbered: Iterator[tuple[int, bytes]],
        now: datetime,
    ) -> dict[str, int]:
        counted = {"recipients": 0, "duplicates": 0, "suppressed": 0}
        bad: dict[str, list[str]] = {}
        chunk: list[tuple[int, Any]] = []
        for number, line in numbered:
            if len(line) > MAX_LINE_BYTES:
                bad[f"line {number}"] = [f"longer than {MAX_LINE_BYTES} bytes"]
                break  # the rest of it would be read as lines: read no further
            try:
                chunk.append((number, _json(line)))
            except ValueError as error:
                bad[f"line {number}"] = [f"not JSON: {error}"]
            if len(chunk) >= self._chunk:
                self._chunk_in(public_id, fields, chunk, now, counted, bad)
                chunk = []
            if len(bad) >= MAX_BAD_LINES:
                break
        if chunk and len(bad) < MAX_BAD_LINES:
            self._chunk_in(public_id, fields, chunk, now, counted, bad)
        if bad:
            raise InvalidRequestError(
                "the upload has bad lines; nothing of the campaign is kept", bad
            )
        if not counted["recipients"] and not counted["duplicates"]:
            raise InvalidRequestError(
                "the campaign has no recipients", {"line 2": ["one recipient a line"]}
            )
        return counted

    def _chunk_in(
        self,
        public_id: str,
        fields: dict[str, Any],
        chunk: list[tuple[int, Any]],
        now: datetime,
        counted: dict[str, int],
        bad: dict[str, list[str]],
    ) -> None:
        """Check a chunk of recipients and, while no line was bad, write it."""
        numbers = [n for n, _ in chunk]
        try:
            prepared = self._api.prepare({**fields, "to": [item for _, item in chunk]}, now)
        except InvalidRequestError as error:
            bad.update(line_errors(error.errors, numbers))
            return
        if bad:
            return
        fresh: dict[str, OutgoingMessage] = {}
        for message in prepared.messages:
            fresh.setdefault(message.to.email, message)
        with self._sessions.begin() as session:
            if not campaigns.touch(session, public_id, self._clock()):
                raise StorageUnavailableError(
                    "the upload stalled and was discarded; send the campaign again"
                )
            for email in campaigns.known_emails(session, public_id, fresh):
                del fresh[email]
            rows = self._api.rows(session, replace(prepared, messages=list(fresh.values())), now)
            outbox.add(session, public_id, rows, now, campaign_id=public_id)
        counted["duplicates"] += len(prepared.messages) - len(rows)
        counted["recipients"] += len(rows)
        counted["suppressed"] += sum(r.state is SendState.SUPPRESSED for r in rows)

    def _discard(self, public_id: str) -> None:
        """Delete what an upload refused or broken off wrote, a chunk a transaction."""
        discard(self._sessions, public_id)


def discard(sessions: sessionmaker[Session], public_id: str) -> None:
    """Delete a campaign and its messages, a chunk a transaction."""
    gone = False
    while not gone:
        with sessions.begin() as session:
            gone = campaigns.discard(session, public_id)


def discard_stale_uploads(
    sessions: sessionmaker[Session],
    idle: timedelta = timedelta(seconds=STALE_UPLOAD_SECONDS),
    clock: Callable[[], datetime] = utcnow,
) -> int:
    """Delete the campaigns whose upload wrote nothing for ``idle`` (its web process died, or
    its client went silent): none of their messages was sent. Return how many."""
    with sessions.begin() as session:
        stale = campaigns.stale_uploads(session, clock() - idle)
    for public_id in stale:
        discard(sessions, public_id)
        log.warning("discarded campaign %s: its upload stopped before it ended", public_id)
    return len(stale)


def _accepted(public_id: str, counted: dict[str, int]) -> dict[str, Any]:
    return {"id": public_id, "state": CampaignState.RUNNING.value, **counted}


def _key_hash(key: str | None) -> str | None:
    """Return the key's SHA-256 (hex), None without one; refuse a malformed one."""
    if key is None:
        return None
    if not key or len(key) > MAX_KEY_CHARS or not key.isprintable():
        raise InvalidRequestError(
            "invalid Idempotency-Key",
            {"Idempotency-Key": [f"1 to {MAX_KEY_CHARS} printable characters"]},
        )
    return hashlib.sha256(key.encode()).hexdigest()


def _hashed(lines: Iterable[bytes], digest: Any) -> Iterator[bytes]:
    """Return ``lines``, each added to ``digest`` as it is read."""
    for line in lines:
        digest.update(line)
        yield line


def _numbered(lines: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    """Return the non-blank lines with their numbers (from 1)."""
    for number, line in enumerate(lines, start=1):
        if line.strip():
            yield number, line


def _json(line: bytes) -> Any:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError as error:
        raise ValueError(str(error)) from None
