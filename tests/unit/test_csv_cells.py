"""One CSV writer for every export: formula-like cells neutralized, rows intact."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from emailhook.domain.csv_cells import FORMULA_STARTS, csv_lines, neutralized

SRC = Path(__file__).resolve().parents[2] / "src" / "emailhook"


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (
            '=hyperlink("http://evil.example","x")@evil.example',
            '\'=hyperlink("http://evil.example","x")@evil.example',
        ),
        ("+cmd@evil.example", "'+cmd@evil.example"),
        ("-2+3@evil.example", "'-2+3@evil.example"),
        ("@sum(1+1)@evil.example", "'@sum(1+1)@evil.example"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("user@example.com", "user@example.com"),
        ("2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00"),
        ("", ""),
        (None, ""),
        (42, "42"),
        (-1, "'-1"),
    ],
)
def test_a_cell_that_could_be_a_formula_is_prefixed(value: object, cell: str) -> None:
    assert neutralized(value) == cell


def test_the_document_reads_back_row_by_row_with_no_evaluable_cell() -> None:
    rows = [("=a", "b\r\nc", "\rd"), ("+e", "f,g", '"h"')]
    text = "".join(csv_lines(("@col", "x", "y"), [rows[:1], rows[1:], []]))
    read = list(csv.reader(io.StringIO(text, newline="")))
    assert read == [["'@col", "x", "y"], ["'=a", "b\r\nc", "'\rd"], ["'+e", "f,g", '"h"']]
    assert not any(cell.startswith(FORMULA_STARTS) for row in read for cell in row)


def test_no_module_but_the_helper_writes_csv() -> None:
    writers = [
        path.relative_to(SRC).as_posix()
        for path in SRC.rglob("*.py")
        if re.search(r"\bcsv\.(writer|DictWriter)\b|^\s*from csv import", path.read_text(), re.M)
    ]
    assert writers == ["domain/csv_cells.py"]  # (a campaign's upload reads CSV: csv.reader)
