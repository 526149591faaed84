"""A campaign's recipients read from CSV and JSON Lines: rows numbered as a spreadsheet
counts them, quoted fields, a byte order mark, metadata columns, cells kept as given, and
each bad record named rather than raised."""

from __future__ import annotations

from emailhook.domain.sending.campaign_records import (
    MAX_LINE_BYTES,
    Bad,
    csv_rows,
    json_lines,
)


def _csv(text: str, bom: bool = False) -> list[tuple[int, object]]:
    data = ("\ufeff" if bom else "") + text
    return list(csv_rows(line.encode() for line in data.splitlines(keepends=True)))


def test_each_row_is_a_recipient_with_its_merge_fields_and_metadata_columns() -> None:
    rows = _csv(
        "email,name,fatura,metadata.qj_contact_id,metadata.qj_firing_id\n"
        "ana@example.com,Ana,R$ 10,101,7\n"
        "bia@example.com,,R$ 20,,7\n"
    )
    assert rows == [
        (
            2,
            {
                "email": "ana@example.com",
                "name": "Ana",
                "merge_data": {"name": "Ana", "fatura": "R$ 10"},
                "metadata": {"qj_contact_id": "101", "qj_firing_id": "7"},
            },
        ),
        (
            3,
            {
                "email": "bia@example.com",
                "merge_data": {"name": "", "fatura": "R$ 20"},
                "metadata": {"qj_firing_id": "7"},
            },
        ),
    ]


def test_quoted_fields_keep_commas_quotes_and_line_breaks_and_rows_count_records() -> None:
    rows = _csv(
        'email,nota\n"ana@example.com","um, ""dois""\ntres"\nbia@example.com,=1+1\n', bom=True
    )
    assert rows == [
        (2, {"email": "ana@example.com", "merge_data": {"nota": 'um, "dois"\ntres'}}),
        # a formula cell is the recipient's value, kept as given
        (3, {"email": "bia@example.com", "merge_data": {"nota": "=1+1"}}),
    ]


def test_a_byte_order_mark_is_not_part_of_the_first_column() -> None:
    assert _csv("email\na@example.com\n", bom=True) == [(2, {"email": "a@example.com"})]


def test_blank_rows_are_skipped_and_a_row_of_another_width_is_bad_by_number() -> None:
    rows = _csv("email,name\n\na@example.com,A\nb@example.com\n,\nc@example.com,C,extra\n")
    assert rows[0] == (3, {"email": "a@example.com", "name": "A", "merge_data": {"name": "A"}})
    assert rows[1] == (4, Bad("1 cells; the header has 2"))
    assert rows[2] == (6, Bad("3 cells; the header has 2"))


def test_a_header_without_email_or_with_a_column_twice_is_row_1_and_ends_the_reading() -> None:
    [(number, bad)] = _csv("name,name,metadata.\nA,B,C\n")
    assert number == 1
    assert isinstance(bad, Bad)
    assert bad.last
    assert "no email column" in bad.problem
    assert "columns named twice: name" in bad.problem
    assert "metadata. names no key" in bad.problem


def test_text_that_is_not_utf8_or_not_csv_ends_the_reading_naming_where() -> None:
    rows = list(csv_rows([b"email\n", b"a@example.com\n", b"\xff\xfe@x.com\n"]))
    assert rows[0] == (2, {"email": "a@example.com"})
    assert isinstance(rows[1][1], Bad)
    assert rows[1][1].last
    assert "not CSV" in rows[1][1].problem
    [(_, bad)] = _csv('email\n"a@example.com"x\n')
    assert isinstance(bad, Bad)
    assert "not CSV" in bad.problem


def test_json_lines_are_numbered_blank_ones_skipped_and_a_long_one_ends_the_reading() -> None:
    lines = [b'{"email": "a@x.com"}\n', b"\n", b"{nope\n", b"x" * (MAX_LINE_BYTES + 1), b"{}\n"]
    records = list(json_lines(lines, first=2))
    assert records[0] == (2, {"email": "a@x.com"})
    assert records[1][0] == 4
    assert isinstance(records[1][1], Bad)
    assert "not JSON" in records[1][1].problem
    assert records[2] == (5, Bad(f"longer than {MAX_LINE_BYTES} bytes", last=True))
    assert len(records) == 3
