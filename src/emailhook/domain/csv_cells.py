"""Every CSV the service writes: cells a spreadsheet would evaluate are neutralized.

A recipient chooses its address, and ``+cmd@evil.example`` or ``-2+3@evil.example`` are valid
ones: opened in a spreadsheet, a cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return may be read as a formula (OWASP's CSV injection). Each such cell is prefixed
with ``'``, OWASP's advice, which spreadsheets show as text. The JSON answers keep every value
as stored; only CSV is written through here (the suppression list now; campaign reports and
message exports as they come). Pure: stdlib only.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence

#: what a cell may begin with for a spreadsheet to evaluate it (OWASP: CSV injection)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralized(value: object) -> str:
    """Return ``value`` as a CSV cell's text, prefixed with ``'`` if it could be a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_lines(
    columns: Sequence[str], chunks: Iterable[Iterable[Sequence[object]]]
) -> Iterator[str]:
    """Yield a CSV document, the header first and then a piece per chunk of rows, every cell
    neutralized: the way every export of the service is written (streamed, not held whole)."""
    buffer = io.StringIO()
    # RFC 4180's CRLF: Python's writer quotes a cell holding any character of the line
    # terminator, so a lone CR in a cell is quoted too (with "\n" it would end the row)
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralized(column) for column in columns])
    for rows in chunks:
        writer.writerows([neutralized(cell) for cell in row] for row in rows)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()
