"""Small Markdown helpers shared by the generated pages."""

from __future__ import annotations


def cell(text: str) -> str:
    """Return ``text`` fit for one table cell: one line, pipes escaped."""
    return " ".join(text.split()).replace("|", r"\|")


def code(text: str) -> str:
    """Return ``text`` as inline code (a double fence when it holds a backtick)."""
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def prose(text: str) -> str:
    """Return a description as Markdown: paragraphs kept, the lines of each joined."""
    paragraphs = [" ".join(part.split()) for part in text.strip().split("\n\n")]
    return "\n\n".join(paragraph for paragraph in paragraphs if paragraph)
