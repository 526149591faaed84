"""Field-by-field checks of a JSON request, collecting every problem with its field path.

Each fake turns ``Check.problems`` into its provider's own 400 body. The fakes are strict:
an unknown field is a problem (so a misspelt field in our send side fails a test instead of
being silently dropped), even where the provider's documentation does not say it refuses one.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from email.utils import getaddresses, parseaddr
from typing import Any

#: a pragmatic address: something@domain.tld (providers refuse ``user@localhost``)
_ADDRESS = re.compile(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[A-Za-z0-9-]{2,}")


def is_address(text: str) -> bool:
    return bool(_ADDRESS.fullmatch(text))


def bare(text: str) -> str:
    """The address of ``Name <addr>`` or ``addr``, lower-cased."""
    return parseaddr(text)[1].lower()


class Check:
    """Collects (field, message) problems; the helpers return the value when it is usable."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, path: str, message: str) -> None:
        self.problems.append((path, message))

    def text(self) -> str:
        return "; ".join(f"{path}: {message}" for path, message in self.problems)

    def obj(
        self,
        value: Any,
        path: str,
        *,
        required: Collection[str] = (),
        allowed: Collection[str] | None = None,
    ) -> dict[str, Any]:
        """``value`` as an object with its ``required`` keys and no key outside ``allowed``."""
        if not isinstance(value, dict):
            self.add(path, "must be an object")
            return {}
        for key in required:
            if key not in value or value[key] in (None, ""):
                self.add(_join(path, key), "is required")
        if allowed is not None:
            for key in value:
                if key not in allowed and key not in required:
                    self.add(_join(path, key), "is not a known field")
        return value

    def array(self, value: Any, path: str, *, least: int = 0, most: int | None = None) -> list[Any]:
        if value is None and least == 0:
            return []
        if not isinstance(value, list):
            self.add(path, "must be an array")
            return []
        if len(value) < least:
            self.add(path, f"needs at least {least} item(s)")
        if most is not None and len(value) > most:
            self.add(path, f"has {len(value)} items; the maximum is {most}")
        return value

    def string(self, value: Any, path: str, *, most: int | None = None) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            self.add(path, "must be a string")
            return None
        if most is not None and len(value) > most:
            self.add(path, f"is {len(value)} characters; the maximum is {most}")
        return value

    def strings(self, value: Any, path: str) -> dict[str, str]:
        """An object whose values are all strings (custom args, metadata, headers)."""
        found = self.obj(value, path)
        for key, item in found.items():
            if not isinstance(item, str):
                self.add(_join(path, key), "must be a string")
        return found

    def name_values(self, value: Any, path: str, *, most: int | None = None) -> dict[str, str]:
        """A list of ``{"Name": ..., "Value": ...}`` (Postmark's and SES's headers, SES tags)."""
        found: dict[str, str] = {}
        for n, item in enumerate(self.array(value, path, most=most)):
            pair = self.obj(item, f"{path}[{n}]", required=("Name", "Value"), allowed=())
            name, text = pair.get("Name"), pair.get("Value")
            if isinstance(name, str) and isinstance(text, str):
                found[name] = text
            elif pair:
                self.add(f"{path}[{n}]", "Name and Value must be strings")
        return found

    def address(self, value: Any, path: str, *, named: bool = True) -> str | None:
        """A bare address (lower-cased) from ``addr`` or, if ``named``, ``Name <addr>``."""
        if not isinstance(value, str) or not value:
            self.add(path, "must be an e-mail address")
            return None
        address = bare(value) if named else value
        if not is_address(address):
            self.add(path, f"is not a valid e-mail address: {value!r}")
            return None
        return address.lower()

    def address_list(self, value: Any, path: str) -> list[str]:
        """Addresses from a comma-separated header-style string (Postmark's To, Cc, Bcc)."""
        if value is None:
            return []
        if not isinstance(value, str):
            self.add(path, "must be a string")
            return []
        found = []
        for name, address in getaddresses([value]):
            if not is_address(address):
                self.add(path, f"is not a valid e-mail address: {(name, address)!r}")
            else:
                found.append(address.lower())
        return found


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
