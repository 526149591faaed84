"""The spool file format: records that round-trip, and torn or damaged ones that never pass."""

from __future__ import annotations

import struct
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from emailhook.adapters.intake import spool_records
from emailhook.adapters.intake.spool_records import (
    MAGIC,
    MARK,
    decode_payload,
    encode_record,
    read_records,
)
from emailhook.domain.inbox import BodyState, NewBody

RECEIVED = datetime(2026, 11, 27, 14, 30, 1, 123456, tzinfo=UTC)


def body(n: int, *, size: int = 40) -> NewBody:
    raw = (b'{"n": %d, "pad": "' % n) + b"x" * size + b'"}'
    return NewBody(raw, "tracking_event", 1, BodyState.PENDING, RECEIVED, f"req-{n}")


def segment(tmp_path: Path, *chunks: bytes) -> Path:
    path = tmp_path / "host-1-2-ab.seg"
    path.write_bytes(MAGIC + b"".join(chunks))
    return path


def test_a_record_gives_back_the_body_and_everything_known_about_it() -> None:
    original = NewBody(
        b'{"a": "\xc3\xa9"}', "delivery_reports", 7, BodyState.UNRECOGNIZED, RECEIVED, None
    )
    record = encode_record(original)
    assert record.startswith(MARK)
    assert decode_payload(record[len(MARK) + 8 :]) == original


def test_a_provider_record_keeps_its_provider_content_type_and_headers() -> None:
    original = NewBody(
        b'{"type": "email.delivered"}',
        "provider",
        1,
        BodyState.PENDING,
        RECEIVED,
        "req-r",
        provider="resend",
        content_type="application/json; charset=utf-8",
        headers={"svix-id": "msg_2a3b"},
    )
    record = encode_record(original)
    assert decode_payload(record[len(MARK) + 8 :]) == original


def test_a_record_written_before_providers_is_read_as_infobips() -> None:
    # the metadata of a record written by the previous version: five fields, no provider
    meta = orjson.dumps([1_795_789_801_123_456, "tracking_event", 1, "pending", "req-old"])
    payload = struct.pack("<H", len(meta)) + meta + b'{"notificationType": "OPENED"}'
    decoded = decode_payload(payload)
    assert (decoded.provider, decoded.content_type, decoded.headers) == ("infobip", None, {})
    assert decoded.request_id == "req-old"
    assert decoded.received_at == RECEIVED


def test_an_infobip_record_is_as_short_as_before_providers() -> None:
    meta = orjson.loads(encode_record(body(1))[len(MARK) + 8 + 2 :].split(b"]", 1)[0] + b"]")
    assert len(meta) == 5


def test_records_are_read_in_order_with_the_offset_after_each(tmp_path: Path) -> None:
    records = [encode_record(body(n)) for n in range(5)]
    path = segment(tmp_path, *records)
    read, end = read_records(path, 0, limit=100, finished=False)
    assert [r.body for r in read] == [body(n) for n in range(5)]
    assert end == path.stat().st_size
    offsets = [len(MAGIC) + sum(len(r) for r in records[: n + 1]) for n in range(5)]
    assert [r.end for r in read] == offsets


def test_reading_resumes_from_an_offset_and_stops_at_the_limit(tmp_path: Path) -> None:
    path = segment(tmp_path, *(encode_record(body(n)) for n in range(5)))
    first, after_two = read_records(path, 0, limit=2, finished=False)
    rest, _ = read_records(path, after_two, limit=100, finished=False)
    assert [r.body.request_id for r in first + rest] == [f"req-{n}" for n in range(5)]


@pytest.mark.parametrize("cut", [1, 5, 12, 30])
def test_a_torn_last_record_is_never_read(tmp_path: Path, cut: int) -> None:
    whole, torn = encode_record(body(1)), encode_record(body(2))
    path = segment(tmp_path, whole, torn[:-cut])
    for finished in (False, True):
        read, _ = read_records(path, 0, limit=100, finished=finished)
        assert [r.body for r in read] == [body(1)]


def test_a_live_segment_is_read_up_to_a_record_that_does_not_check_out(tmp_path: Path) -> None:
    damaged = bytearray(encode_record(body(2)))
    damaged[-3] ^= 0xFF  # a payload byte: the CRC no longer matches
    path = segment(tmp_path, encode_record(body(1)), bytes(damaged), encode_record(body(3)))
    read, end = read_records(path, 0, limit=100, finished=False)
    assert [r.body for r in read] == [body(1)]
    assert end == read[0].end  # it is read again from there next time


def test_a_finished_segment_is_read_past_a_short_record_left_by_a_killed_writer(
    tmp_path: Path,
) -> None:
    # A process killed inside a long write leaves a short record; its other threads' records
    # follow it, and each of those was answered 200.
    short = encode_record(body(2, size=5000))[:1000]
    path = segment(tmp_path, encode_record(body(1)), short, encode_record(body(3)))
    read, end = read_records(path, 0, limit=100, finished=True)
    assert [r.body for r in read] == [body(1), body(3)]
    assert end == path.stat().st_size


def test_a_file_that_is_not_a_spool_segment_yields_nothing(tmp_path: Path) -> None:
    path = tmp_path / "other.seg"
    path.write_bytes(b"not a spool file at all")
    assert read_records(path, 0, limit=10, finished=True) == ([], 0)


def test_a_body_longer_than_a_read_chunk_is_read_whole(tmp_path: Path) -> None:
    big = body(1, size=9 * 1024 * 1024)
    path = segment(tmp_path, encode_record(big), encode_record(body(2)))
    read, _ = read_records(path, 0, limit=100, finished=False)
    assert [r.body for r in read][:1] == [big]


def read_all(path: Path, *, finished: bool) -> list[NewBody]:
    """Read the way the promoter does: call after call until the offset stops moving."""
    bodies: list[NewBody] = []
    offset = 0
    while True:
        records, end = read_records(path, offset, limit=3, finished=finished)
        bodies += [r.body for r in records]
        if end == offset:
            return bodies
        offset = end


@pytest.mark.parametrize("chunk", [64, 100, 257, 1000])
def test_records_straddling_read_chunks_are_all_read_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(spool_records, "_READ_CHUNK", chunk)
    path = segment(tmp_path, *(encode_record(body(n, size=n * 7)) for n in range(20)))
    for finished in (False, True):
        assert read_all(path, finished=finished) == [body(n, size=n * 7) for n in range(20)]


@pytest.mark.parametrize("chunk", [64, 100, 257, 1000])
def test_a_finished_segment_is_read_past_a_short_record_whatever_the_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(spool_records, "_READ_CHUNK", chunk)
    short = encode_record(body(5, size=3000))[:700]
    path = segment(
        tmp_path,
        *(encode_record(body(n)) for n in range(5)),
        short,
        *(encode_record(body(n)) for n in range(6, 12)),
    )
    expected = [body(n) for n in range(12) if n != 5]
    assert read_all(path, finished=True) == expected
    assert read_all(path, finished=False) == expected[:5]
