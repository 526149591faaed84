"""The spool's file format: segments of records, each checked by its own CRC.

File: the 8-byte magic, then records. Record: a 4-byte mark, payload length and CRC-32
(``<II``), then the payload: the metadata length (``<H``), the metadata as a JSON array
``[received_at (us since the epoch), shape, event count, state, request id, provider,
content type, kept headers]``, then the body exactly as received (records written before
providers end at the request id: they are Infobip's, with no type or headers). Each write
goes at an offset its writer reserved after the records before it, into zeros written ahead
(``spool.PREALLOCATED``), so the records are in order and the synced ones are a prefix of the
file, with one exception: a thread's record may be synced before an earlier-reserved one of
another thread is written, or a process killed inside a long ``write`` leaves a short or
missing record that later records of its other threads follow. A live segment is read up to
the first record that does not check out (zeros included: it may still be being written); a
finished one is read past such a record, from the next mark whose record checks out.
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from emailhook.domain.inbox import BodyState, NewBody

MAGIC = b"EHSPOOL1"
MARK = b"\xa5EHR"
SUFFIX = ".seg"
_RECORD = struct.Struct("<II")
_HEADER = len(MARK) + _RECORD.size
_META = struct.Struct("<H")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: bytes read at a time by the promoter (a record longer than this is read whole)
_READ_CHUNK = 8 * 1024 * 1024


def encode_record(body: NewBody) -> bytes:
    """Return ``body`` as one spool record."""
    received = (body.received_at - _EPOCH) // timedelta(microseconds=1)
    meta = orjson.dumps(
        [
            received,
            body.shape,
            body.event_count,
            body.state.value,
            body.request_id,
            *_provider_meta(body),
        ]
    )
    payload = b"".join((_META.pack(len(meta)), meta, body.body))
    return b"".join((MARK, _RECORD.pack(len(payload), zlib.crc32(payload)), payload))


def decode_payload(payload: bytes) -> NewBody:
    """Return the body a record's payload holds."""
    (meta_length,) = _META.unpack_from(payload)
    start = _META.size
    meta = orjson.loads(payload[start : start + meta_length])
    received, shape, events, state, request_id = meta[:5]
    provider, content_type, headers = meta[5:8] if len(meta) >= 8 else ("infobip", None, {})
    return NewBody(
        body=payload[start + meta_length :],
        shape=shape,
        event_count=events,
        state=BodyState(state),
        received_at=_EPOCH + timedelta(microseconds=received),
        request_id=request_id,
        provider=provider,
        content_type=content_type,
        headers=headers or {},
    )


def _provider_meta(body: NewBody) -> tuple[object, ...]:
    # Infobip's records stay as short as they were: the hot path writes thousands a second.
    if body.provider == "infobip" and body.content_type is None and not body.headers:
        return ()
    return (body.provider, body.content_type, dict(body.headers))


@dataclass(frozen=True, slots=True)
class Record:
    body: NewBody
    #: the segment offset just past this record
    end: int


def read_records(path: Path, start: int, *, limit: int, finished: bool) -> tuple[list[Record], int]:
    """Return up to ``limit`` records from offset ``start``, and the offset after the last read.

    A record that does not check out ends a live segment's reading (it may still be being
    written). In a ``finished`` segment it is skipped: reading goes on from the next mark
    whose record checks out.
    """
    base = max(start, len(MAGIC))
    with path.open("rb") as file:
        if file.read(len(MAGIC)) != MAGIC:
            return [], start
        file.seek(base)
        # A chunk at a time (memory stays flat whatever the segment holds), and always at
        # least the whole first record, however long.
        data = file.read(_READ_CHUNK)
        if data.startswith(MARK) and len(data) >= _HEADER:
            (length, _) = _RECORD.unpack_from(data, len(MARK))
            if _HEADER + length > len(data):
                data += file.read(_HEADER + length - len(data))
        at_end = base + len(data) >= os.fstat(file.fileno()).st_size
    records: list[Record] = []
    position = 0
    while len(records) < limit and position < len(data):
        record = _record_at(data, position, base)
        if record is not None:
            records.append(record)
            position = record.end - base
        elif not at_end and _cut_by_chunk(data, position):
            break  # whole in the file, only not in this chunk: the next call reads it
        elif finished:  # torn by a killed writer: go on from the next record that checks out
            found = data.find(MARK, position + 1)
            if found < 0:  # none in this chunk: keep the last bytes, a mark may straddle
                position = len(data) if at_end else max(position + 1, len(data) - len(MARK))
                break
            position = found
        else:
            break
    return records, base + position


def _cut_by_chunk(data: bytes, position: int) -> bool:
    """True when the record at ``position`` may go on past the end of ``data``."""
    if len(data) - position < _HEADER:
        return data.startswith(MARK[: len(data) - position], position)
    if not data.startswith(MARK, position):
        return False
    (length, _) = _RECORD.unpack_from(data, position + len(MARK))
    return bool(position + _HEADER + length > len(data))


def _record_at(data: bytes, position: int, base: int) -> Record | None:
    if not data.startswith(MARK, position):
        return None
    start = position + len(MARK)
    if start + _RECORD.size > len(data):
        return None
    length, crc = _RECORD.unpack_from(data, start)
    payload = data[start + _RECORD.size : start + _RECORD.size + length]
    if len(payload) < length or zlib.crc32(payload) != crc:
        return None
    try:
        body = decode_payload(payload)
    except (ValueError, TypeError, struct.error):  # a CRC collision on garbage: not a record
        return None
    return Record(body, base + start + _RECORD.size + length)
