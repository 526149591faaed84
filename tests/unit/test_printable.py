"""Text for a terminal: one field cannot forge another line or reverse the next ones."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emailhook.domain.printable import escaped


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("a\nINJECTED LINE@x.example", "a\\nINJECTED LINE@x.example"),
        ("evil\u202e@x.example", "evil\\u202e@x.example"),
        ("\x1b[31mred", "\\x1b[31mred"),
        ("a\r\nb\tc\x00d", "a\\r\\nb\\tc\\x00d"),
        ("line\u2028sep", "line\\u2028sep"),
        ("ñandú@exämple.com", "ñandú@exämple.com"),
        ("non\u00a0breaking space", "non\u00a0breaking space"),
        ("用户@例子.广告", "用户@例子.广告"),
    ],
)
def test_control_and_format_characters_are_escaped(text: str, shown: str) -> None:
    assert escaped(text) == shown


@given(st.text())
def test_any_text_is_one_line_of_printable_characters_and_spaces(text: str) -> None:
    shown = escaped(text)
    assert not shown.splitlines()[1:]
    assert all(c.isprintable() or unicodedata.category(c) == "Zs" for c in shown)
