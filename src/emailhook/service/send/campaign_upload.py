"""A campaign's upload: JSON Lines read as a stream and written to the outbox a chunk at a
time (``campaign_writer``), checked as ``POST /messages`` checks a request.

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
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from emailhook.adapters.db.engine import is_transient
from emailhook.adapters.store import campaigns
from emailhook.domain.clock import utcnow
from emailhook.domain.sending.campaign import CampaignState, read_header
from emailhook.domain.sending.campaign_message import shared_part
from emailhook.domain.sending.campaign_records import (
    csv_rows,
    json_lines,
)
from emailhook.domain.sending.expansion import expand
from emailhook.domain.sending.message import new_public_id
from emailhook.domain.sending.validation import InvalidSendRequestError
from emailhook.service.errors import (
    ConflictError,
    IdempotencyMismatchError,
    InvalidRequestError,
    StorageUnavailableError,
)
from emailhook.service.send.accept import Answer, Prepared, SendApi, hash_of_key
from emailhook.service.send.campaign_discard import discard
from emailhook.service.send.campaign_writer import CHUNK, CampaignWriter, Recipients, writing

log = logging.getLogger("emailhook.send.campaigns")

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
        self._clock = clock
        self._writer = CampaignWriter(sessions, api, chunk=chunk, clock=clock)

    def create(self, lines: Iterable[bytes], key: str | None = None) -> Answer:
        """Accept the upload ``lines`` (JSON Lines: the message, then one recipient a line):
        202 with the campaign's id and counts once every recipient is committed. With an
        ``Idempotency-Key``, the same key and upload again is answered the same, creating
        nothing (another upload: IdempotencyMismatchError; the first still uploading:
        ConflictError). Raises InvalidRequestError naming the bad lines (nothing kept, the
        key free again), StorageUnavailableError."""
        return self._guarded(lambda: self._create_json_lines(lines, key))

    def create_from(
        self, message: bytes, recipients: Iterable[bytes], kind: str, key: str | None = None
    ) -> Answer:
        """Accept a campaign whose message (a JSON object, as JSON Lines' first line) and
        recipients come apart: ``recipients`` the lines of a CSV file (``kind`` "csv": a
        header row, then a recipient a row) or of JSON Lines ("jsonl": a recipient a line).
        Answered and refused as ``create``: the message's errors named ``message.<field>``,
        the recipients' by row (``row 12.email``) or line."""
        if kind not in ("csv", "jsonl"):
            raise ValueError(kind)
        return self._guarded(lambda: self._create_apart(message, recipients, kind, key))

    def _guarded(self, create: Callable[[], Answer]) -> Answer:
        try:
            return create()
        except SQLAlchemyError as error:
            if not is_transient(error):
                raise
            log.warning("campaign upload refused (503), the database: %s", error)
            raise StorageUnavailableError("the database is busy or down; try again") from error

    def _create_json_lines(self, raw: Iterable[bytes], key: str | None) -> Answer:
        digest = hashlib.sha256(b"POST /campaigns\n")
        lines = _hashed(raw, digest)
        key_hash = hash_of_key(key)
        if key_hash is not None:
            replayed = self._replay(key_hash, lines, digest)
            if replayed is not None:
                return replayed
        first = _first_line(lines)
        if first is None:
            raise InvalidRequestError(
                "the upload is empty", {"line 1": ["the message: a JSON object"]}
            )
        number, line = first
        upload = _Upload(
            "line 1", Recipients(json_lines(lines, first=number + 1), "line", number + 1)
        )
        return self._accept(upload, line, key_hash, digest)

    def _create_apart(
        self, message: bytes, raw: Iterable[bytes], kind: str, key: str | None
    ) -> Answer:
        digest = hashlib.sha256(f"POST /campaigns {kind}\n".encode())
        digest.update(message + b"\n")
        lines = _hashed(raw, digest)
        key_hash = hash_of_key(key)
        if key_hash is not None:
            replayed = self._replay(key_hash, lines, digest)
            if replayed is not None:
                return replayed
        if kind == "csv":
            upload = _Upload("message", Recipients(csv_rows(lines), "row", 2))
        else:
            upload = _Upload("message", Recipients(json_lines(lines), "line", 1))
        return self._accept(upload, message, key_hash, digest)

    def _accept(self, upload: _Upload, message: bytes, key_hash: str | None, digest: Any) -> Answer:
        now = self._clock()
        fields, rate, base = self._header(message, upload.message)
        shared = shared_part(expand(base.request, rendered=False)[0])
        public_id = new_public_id("cmp_")
        try:
            with writing(self._sessions) as session:
                campaigns.create(
                    session,
                    public_id,
                    provider=base.request.provider,
                    document=fields,
                    message=shared,
                    rate=rate,
                    now=now,
                    idempotency_key=key_hash,
                )
        except IntegrityError:
            raise ConflictError(
                "a campaign with this Idempotency-Key is still being uploaded"
            ) from None
        try:
            counted = self._writer.write(public_id, base, shared, upload.recipients, now)
        except BaseException:
            self._discard(public_id)
            raise
        with writing(self._sessions) as session:
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

    def _header(self, line: bytes, label: str) -> tuple[dict[str, Any], float | None, Prepared]:
        """Return the message's fields, rate and the message prepared (checked as ``POST
        /messages`` checks it, with one stand-in recipient); ``label``: how errors name it."""
        what = "the first line" if label == "line 1" else "the message"
        try:
            fields, rate = read_header(orjson.loads(line))
        except InvalidSendRequestError as error:
            errors = {k.replace("line 1", label, 1): v for k, v in error.errors.items()}
            raise InvalidRequestError(f"{what} is not a campaign's message", errors) from None
        except orjson.JSONDecodeError as error:
            raise InvalidRequestError(f"{what} is not JSON", {label: [str(error)]}) from None
        try:
            prepared = self._api.prepare({**fields, "to": [_PROBE]}, self._clock())
        except InvalidRequestError as error:
            errors = {f"{label}.{k}": v for k, v in error.errors.items()}
            raise InvalidRequestError(f"{what} is not a campaign's message", errors) from None
        return fields, rate, prepared

    def _discard(self, public_id: str) -> None:
        """Delete what an upload refused or broken off wrote, a chunk a transaction."""
        discard(self._sessions, public_id)


def _accepted(public_id: str, counted: dict[str, int]) -> dict[str, Any]:
    return {"id": public_id, "state": CampaignState.RUNNING.value, **counted}


def _hashed(lines: Iterable[bytes], digest: Any) -> Iterator[bytes]:
    """Return ``lines``, each added to ``digest`` as it is read."""
    for line in lines:
        digest.update(line)
        yield line


def _first_line(lines: Iterator[bytes]) -> tuple[int, bytes] | None:
    """Return the first non-blank line with its number (from 1), the lines read up to it."""
    for number, line in enumerate(lines, start=1):
        if line.strip():
            return number, line
    return None


@dataclass(frozen=True, slots=True)
class _Upload:
    """An upload: how its errors name the message, and its recipients."""

    #: the message's name in errors (``line 1``, ``message``)
    message: str
    recipients: Recipients
