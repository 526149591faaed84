"""What a fake provider accepted: one row per recipient, with what the provider would echo.

A provider "echoes" what it hands back in its events: SendGrid's ``custom_args``, Mailgun's
``v:`` variables, Postmark's ``Metadata``, SES's message tags and headers, Infobip's
``callbackData``... Each fake copies those fields into ``Accepted.echo`` (JSON strings that hold
an object, such as Mailjet's ``EventPayload`` or Brevo's ``X-Mailin-custom``, are decoded and
merged in too), so a test finds our message id in one place whatever the provider:

    fake.ledger.count("emailhook_id")        # Counter: our id -> copies accepted
    fake.ledger.assert_once("emailhook_id")  # every id accepted exactly once
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson


@dataclass(frozen=True)
class Accepted:
    """One recipient the provider accepted (it would now try to deliver to them)."""

    recipient: str  # the bare address, lower-cased
    provider_id: str  # the id the provider's answer gave for this recipient's message
    path: str  # the endpoint that accepted it
    request: int  # index into the fake's ``requests``
    kind: str = "to"  # to, cc or bcc
    #: what the provider would echo in its events (decoded, merged; see the module doc)
    echo: Mapping[str, Any] = field(default_factory=dict)
    #: the provider's own fields, as sent (for assertions on the exact shape)
    raw: Mapping[str, Any] = field(default_factory=dict)


def merged_echo(*sources: Mapping[str, Any] | None) -> dict[str, Any]:
    """The sources merged left to right; a string value holding a JSON object is merged too."""
    echo: dict[str, Any] = {}
    for source in sources:
        if not isinstance(source, Mapping):
            continue
        for key, value in source.items():
            echo[key] = value
            if isinstance(value, str) and value.startswith("{"):
                try:
                    decoded = orjson.loads(value)
                except orjson.JSONDecodeError:
                    continue
                if isinstance(decoded, dict):
                    echo.update(decoded)
    return echo


class Ledger:
    """Thread-safe list of ``Accepted`` rows, in the order the fake accepted them."""

    def __init__(self) -> None:
        self._rows: list[Accepted] = []
        self._lock = threading.Lock()

    def add(self, rows: Iterable[Accepted]) -> None:
        with self._lock:
            self._rows.extend(rows)

    def __iter__(self) -> Iterator[Accepted]:
        with self._lock:
            return iter(list(self._rows))

    def __len__(self) -> int:
        with self._lock:
            return len(self._rows)

    def recipients(self) -> list[str]:
        return [row.recipient for row in self]

    def count(self, key: str) -> Counter[str]:
        """How many accepted rows carry each value of ``echo[key]`` (rows without it skipped)."""
        return Counter(str(row.echo[key]) for row in self if key in row.echo)

    def duplicates(self, key: str) -> dict[str, int]:
        """The values of ``echo[key]`` accepted more than once, with their counts."""
        return {value: n for value, n in self.count(key).items() if n > 1}

    def assert_once(self, key: str, expected: Iterable[str] | None = None) -> None:
        """Every row carries ``echo[key]``, no value twice, and (if given) exactly ``expected``."""
        rows = list(self)
        missing = [row for row in rows if key not in row.echo]
        assert not missing, f"{len(missing)} accepted rows without {key!r}: {missing[:3]}"
        twice = self.duplicates(key)
        assert not twice, f"accepted more than once: {twice}"
        if expected is not None:
            got, want = set(self.count(key)), set(expected)
            absent, extra = sorted(want - got)[:5], sorted(got - want)[:5]
            assert got == want, f"missing {absent}, unexpected {extra}"

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()
