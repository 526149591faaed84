"""A campaign's recipients read from its upload, one record at a time: JSON Lines (an object
a line) or CSV (a header row, then a recipient a row), each record numbered as its sender
sees it, a bad one named rather than raised so that the upload reads on and names them all.

CSV's columns: ``email``; ``name`` (the recipient's name, and a merge field too); a column
``metadata.<key>`` is the recipient's metadata ``<key>`` (``metadata.qj_contact_id``), left
out when its cell is empty; every other column is a merge field (``{{column}}``). Cells are
kept as given, as text: a cell that a spreadsheet would read as a formula (``=1+1``) is the
recipient's value, never evaluated here (the CSV exports neutralize such cells on the way
out). Pure: no I/O.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

#: longest line taken, bytes (a recipient with its merge data and metadata)
MAX_LINE_BYTES = 64 * 1024
#: a CSV column that holds metadata: ``metadata.qj_contact_id``
METADATA_PREFIX = "metadata."
#: CSV columns that are not merge fields alone
EMAIL, NAME = "email", "name"


@dataclass(frozen=True, slots=True)
class Bad:
    """A record that is not a recipient: why; ``last``: nothing after it can be read."""

    problem: str
    last: bool = False


Record = tuple[int, Any]


def json_lines(lines: Iterable[bytes], first: int = 1) -> Iterator[Record]:
    """Return each non-blank line's number (the first is ``first``) and its JSON, or Bad."""
    for number, line in enumerate(lines, start=first):
        if not line.strip():
            continue
        if len(line) > MAX_LINE_BYTES:
            # the rest of it would be read as lines: read no further
            yield number, Bad(f"longer than {MAX_LINE_BYTES} bytes", last=True)
            return
        try:
            yield number, orjson.loads(line)
        except orjson.JSONDecodeError as error:
            yield number, Bad(f"not JSON: {error}")


def csv_rows(lines: Iterable[bytes]) -> Iterator[Record]:
    """Return each recipient row's number (the header is row 1, as a spreadsheet counts) and
    the recipient it holds (``POST /messages``'s ``to`` item), or Bad; a bad header is row
    1's Bad, and ends the reading."""
    text = _decoded(lines)
    reader = csv.reader(text, strict=True)
    try:
        header = next(reader, None)
        if header is None:
            return
        columns = _columns(header)
        if isinstance(columns, Bad):
            yield 1, columns
            return
        for number, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue  # a blank line, or a row of empty cells
            if len(row) != len(columns):
                yield number, Bad(f"{len(row)} cells; the header has {len(columns)}")
                continue
            yield number, _recipient(columns, row)
    except (csv.Error, UnicodeDecodeError, _LineTooLongError) as error:
        yield reader.line_num or 1, Bad(f"not CSV: {error}", last=True)


def _columns(header: list[str]) -> list[tuple[str, str]] | Bad:
    """Return each column's (kind, key): email, name, metadata or merge."""
    names = [cell.strip() for cell in header]
    problems = []
    if EMAIL not in names:
        problems.append(f"no {EMAIL} column")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        problems.append(f"columns named twice: {', '.join(repeated)}")
    columns = []
    for name in names:
        if name in (EMAIL, NAME):
            columns.append((name, name))
        elif name.startswith(METADATA_PREFIX):
            key = name.removeprefix(METADATA_PREFIX)
            if not key:
                problems.append(f"a column {METADATA_PREFIX} names no key")
            columns.append(("metadata", key))
        elif not name:
            problems.append("a column without a name")
        else:
            columns.append(("merge", name))
    return Bad("; ".join(problems), last=True) if problems else columns


def _recipient(columns: list[tuple[str, str]], row: list[str]) -> dict[str, Any]:
    item: dict[str, Any] = {}
    merge: dict[str, str] = {}
    metadata: dict[str, str] = {}
    for (kind, key), cell in zip(columns, row, strict=True):
        if kind == EMAIL:
            item[EMAIL] = cell
        elif kind == NAME:
            if cell:
                item[NAME] = cell
            merge[NAME] = cell
        elif kind == "metadata":
            if cell != "":
                metadata[key] = cell
        else:
            merge[key] = cell
    if merge:
        item["merge_data"] = merge
    if metadata:
        item["metadata"] = metadata
    return item


class _LineTooLongError(ValueError):
    pass


def _decoded(lines: Iterable[bytes]) -> Iterator[str]:
    """Return the lines as text: UTF-8, a byte order mark first dropped (Excel writes one)."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")
    for line in lines:
        if len(line) > MAX_LINE_BYTES:
            raise _LineTooLongError(f"a line longer than {MAX_LINE_BYTES} bytes")
        yield decoder.decode(line)
    yield decoder.decode(b"", final=True)
