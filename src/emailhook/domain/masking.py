"""Masking of personal data for log lines."""

from __future__ import annotations

import re


def mask_email(address: str | None) -> str:
    """Return ``j***@domain`` for an address: enough to recognise a domain, not a person."""
    if not address:
        return "-"
    local, at, domain = address.partition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


#: an e-mail address inside free text (also URL-encoded, ``a%40b.com``); the first character of
#: the local part is kept, so ``j***@domain`` (already masked) does not match again. Linear
#: time: a match starts only where a word starts, and possessive runs never backtrack (a log
#: line may hold a long attacker-chosen word).
_ADDRESS_IN_TEXT = re.compile(r"(?<![\w.+-])([\w.+-])[\w.+-]*+(?:@|%40)([\w-]++(?:\.[\w-]++)+)")


def mask_emails(text: str) -> str:
    """Return ``text`` with every e-mail address in it masked as ``mask_email`` does."""
    return _ADDRESS_IN_TEXT.sub(r"\1***@\2", text)
