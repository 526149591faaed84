"""The documentation site's generated reference pages, and the MkDocs hook that writes them.

Each ``render()`` returns Markdown made from the code itself (the ``Settings`` object, the
click CLI, the OpenAPI document), so the reference cannot drift from what the service reads,
offers and answers; each raises :class:`Undocumented` for a part of the code that has no
description, which fails the build (``mkdocs build --strict``, run by ``make test``).
"""


class Undocumented(Exception):  # noqa: N818 (it reads as a verdict: "Undocumented: ...")
    """A setting, command, option or operation has no description: the reference would be
    incomplete, so the build stops and names it."""
