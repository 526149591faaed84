"""Masking of personal data for log lines."""

from __future__ import annotations

import re

#: Something shaped like an address: enough to catch them in free text (errors, SQL
#: parameters); an already masked ``j***@domain`` does not match again.
_ADDRESS = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def mask_email(address: str | None) -> str:
    """Return ``j***@domain`` for an address: enough to recognise a domain, not a person."""
    if not address:
        return "-"
    local, at, domain = address.partition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


def mask_addresses(text: str) -> str:
    """Return ``text`` with every e-mail address in it masked."""
    if "@" not in text:
        return text
    return _ADDRESS.sub(lambda match: mask_email(match.group()), text)
