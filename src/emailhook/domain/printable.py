"""Text for a terminal: control characters shown escaped, so one field cannot forge a line.

A recipient chooses its address and a provider reports whatever it was given: a newline in
``a\\nINJECTED LINE@x.example`` would print as a second line of ``emailhook events``, an
escape sequence would drive the terminal, a right-to-left override would reverse what
follows. Every character that is not printable (controls, format characters such as the
bidirectional overrides, line and paragraph separators, surrogates) is written as Python
writes it in a string literal (``\\n``, ``\\x1b``, ``\\u202e``); spaces of every kind stay.
Pure: stdlib only.
"""

from __future__ import annotations

import unicodedata


def escaped(text: str) -> str:
    """Return ``text`` with every character that is not printable escaped."""
    if text.isprintable():  # the common case: nothing to do
        return text
    return "".join(_escape(char) for char in text)


def _escape(char: str) -> str:
    if char.isprintable() or unicodedata.category(char) == "Zs":
        return char
    return char.encode("unicode_escape", "backslashreplace").decode("ascii")
