"""``{{name}}`` placeholders, replaced from a recipient's merge data (then the global data)."""

from __future__ import annotations

import re
from collections.abc import Mapping

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}")


def render(text: str | None, *data: Mapping[str, str]) -> str | None:
    """Return ``text`` with each ``{{name}}`` replaced by the first mapping that has ``name``;
    an unknown name is left as written (the sender sees it in the message, not lost)."""
    if text is None or "{{" not in text:
        return text

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        for mapping in data:
            if name in mapping:
                return str(mapping[name])
        return match.group(0)

    return _PLACEHOLDER.sub(value, text)


def names(text: str | None) -> set[str]:
    """Return the placeholder names ``text`` uses."""
    return set(_PLACEHOLDER.findall(text or ""))
