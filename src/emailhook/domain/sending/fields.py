"""Readers of a send request's fields: each returns the value, or records its problem.

Used by validation.py; every reader adds "where: problem" to :class:`Errors` rather than
raising, so that one answer names every bad field at once.
"""

from __future__ import annotations

from typing import Any

from emailhook.domain.addresses import InvalidAddressError, parse_address


class Errors:
    def __init__(self) -> None:
        self.found: dict[str, list[str]] = {}

    def add(self, where: str, problem: str) -> None:
        self.found.setdefault(where, []).append(problem)


def read_address(value: object, where: str, errors: Errors, *, required: bool) -> str | None:
    if value is None:
        if required:
            errors.add(where, "required")
        return None
    if not isinstance(value, str):
        errors.add(where, "must be a string")
        return None
    text = value.strip()
    # "Name <addr>" is accepted for senders; the address part is checked
    bare = text[text.rfind("<") + 1 : -1] if text.endswith(">") and "<" in text else text
    try:
        parse_address(bare)
    except InvalidAddressError as error:
        errors.add(where, f"not an e-mail address: {error}")
        return None
    return text


def read_text(value: object, where: str, errors: Errors, *, most: int | None = None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        errors.add(where, "must be a string")
        return None
    if most is not None and len(value) > most:
        errors.add(where, f"at most {most} characters")
        return None
    return value


def read_list(value: object, where: str, errors: Errors) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        errors.add(where, "must be a list")
        return []
    return value


def read_flag(value: object, where: str, errors: Errors) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    errors.add(where, "must be true or false")
    return None


def read_strings(value: object, where: str, errors: Errors) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors.add(where, "must be an object")
        return {}
    out: dict[str, str] = {}
    for key, item in value.items():
        if isinstance(item, (str, int, float)) and not isinstance(item, bool):
            out[str(key)] = str(item)
        else:
            errors.add(f"{where}.{key}", "must be a string or a number")
    return out


def read_metadata(value: object, where: str, errors: Errors) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors.add(where, "must be an object")
        return {}
    out: dict[str, Any] = {}
    for key, item in value.items():
        if item is None or isinstance(item, (str, int, float, bool)):
            out[str(key)] = item
        else:
            errors.add(f"{where}.{key}", "must be a string, a number, true, false or null")
    contact = out.get("qj_contact_id")
    if contact is not None and not is_int(contact):
        errors.add(f"{where}.qj_contact_id", "must be an integer")
    return out


def is_int(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, str) and value.strip().lstrip("-").isdigit()
