"""Masking of personal data for log lines."""

from __future__ import annotations


def mask_email(address: str | None) -> str:
    """Return ``j***@domain`` for an address: enough to recognise a domain, not a person."""
    if not address:
        return "-"
    local, at, domain = address.partition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"
