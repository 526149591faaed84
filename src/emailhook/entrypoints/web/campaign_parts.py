"""A ``multipart/form-data`` campaign upload read as it arrives: the ``message`` part (a JSON
object, held: it is small), then the ``recipients`` part (a CSV or JSON Lines file) as lines,
never held whole nor spooled to disk, as werkzeug's form parser would."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO

from werkzeug.sansio.multipart import (
    NEED_DATA,
    Data,
    Epilogue,
    Field,
    File,
    MultipartDecoder,
)

from emailhook.domain.sending.campaign_records import MAX_LINE_BYTES
from emailhook.service.errors import InvalidRequestError

#: bytes read from the request at once
_READ = 64 * 1024
#: largest ``message`` part taken (a campaign's message, its HTML included)
MAX_MESSAGE_BYTES = 1024 * 1024
#: a recipients part's media types, by its kind
CSV_TYPES = frozenset({"text/csv", "application/csv", "text/comma-separated-values"})
JSON_LINES_TYPES = frozenset(
    {
        "application/x-ndjson",
        "application/jsonl",
        "application/x-jsonlines",
        "application/jsonl+json",
    }
)


@dataclass
class Parts:
    """The message's bytes, the recipients' kind (``csv`` or ``jsonl``) and their lines."""

    message: bytes
    kind: str
    lines: Iterator[bytes]


def read_parts(stream: IO[bytes], boundary: str) -> Parts:
    """Return the upload's message and its recipients' lines (read as they are iterated), or
    raise InvalidRequestError when the parts are not ``message`` then ``recipients``."""
    events = _events(stream, boundary.encode())
    message = b""
    for event in events:
        if isinstance(event, Field | File):
            if event.name != "message":
                raise _refused(f"the first part is {event.name!r}, not 'message'")
        elif isinstance(event, Data):
            message += event.data
            if len(message) > MAX_MESSAGE_BYTES:
                raise _refused(f"the message part is over {MAX_MESSAGE_BYTES} bytes")
            if not event.more_data:
                break
    else:
        raise _refused("no message part")
    for event in events:
        if isinstance(event, Field | File):
            if event.name != "recipients":
                raise _refused(f"the second part is {event.name!r}, not 'recipients'")
            kind = _kind(event)
            return Parts(message, kind, lines_of(_data(events)))
    raise _refused("no recipients part")


def _kind(part: Field | File) -> str:
    """Return the recipients' kind: by the part's type, else its file name's extension."""
    mimetype = (part.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    filename = (getattr(part, "filename", None) or "").lower()
    if mimetype in CSV_TYPES or filename.endswith(".csv"):
        return "csv"
    if mimetype in JSON_LINES_TYPES or filename.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    raise _refused(
        "the recipients part's type is neither CSV (text/csv, a .csv file) nor JSON Lines"
        " (application/x-ndjson, a .jsonl file)"
    )


def _events(stream: IO[bytes], boundary: bytes) -> Iterator[object]:
    decoder = MultipartDecoder(boundary, max_form_memory_size=None)
    while True:
        data = stream.read(_READ)
        decoder.receive_data(data or None)  # None: the end
        while (event := decoder.next_event()) is not NEED_DATA:
            if isinstance(event, Epilogue):
                return
            yield event
        if not data:
            return


def _data(events: Iterator[object]) -> Iterator[bytes]:
    """Return the current part's bytes as they come."""
    for event in events:
        if not isinstance(event, Data):
            return  # a part after the recipients: ignored
        yield event.data
        if not event.more_data:
            return


def blocks(stream: IO[bytes]) -> Iterator[bytes]:
    """Return the stream's bytes as they are read, a block at a time (a line at a time, the
    request's stream reads a byte a call)."""
    while block := stream.read(_READ):
        yield block


def lines_of(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Return the bytes as lines (each with its end), a line held up to one byte past
    ``MAX_LINE_BYTES`` (a longer one is refused by the reader: never held whole)."""
    pending = b""
    for chunk in chunks:
        pending += chunk
        start = 0
        while (end := pending.find(b"\n", start)) >= 0:
            yield pending[start : end + 1]
            start = end + 1
        pending = pending[start:]
        if len(pending) > MAX_LINE_BYTES:
            yield pending
            pending = b""
    if pending:
        yield pending


def _refused(why: str) -> InvalidRequestError:
    return InvalidRequestError(
        "the upload must be multipart/form-data: a 'message' part, then 'recipients'",
        {"": [why]},
    )
