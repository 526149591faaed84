"""The MkDocs hook (``hooks:`` in mkdocs.yml) that writes the reference pages from the code.

A page holding a line ``<!-- reference:NAME -->`` gets the generated Markdown in its place:
``settings`` (every field of ``Settings``), ``cli`` (every ``emailhook`` command) or
``http-api`` (every operation of the OpenAPI document). The OpenAPI document itself is
published beside them as ``reference/openapi.json``. Anything undocumented in the code stops
the build with a message naming it.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

# MkDocs loads this file by path: make its package and the source tree importable.
_TOOLS = Path(__file__).resolve().parents[1]
for _path in (_TOOLS, _TOOLS.parent / "src"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from docsite import Undocumented, api_page, cli_page, settings_page  # noqa: E402

#: each marker's generator
GENERATORS: dict[str, Callable[[], str]] = {
    "settings": settings_page.render,
    "cli": cli_page.render,
    "http-api": api_page.render,
}
MARKER = re.compile(r"^<!-- reference:(?P<name>[a-z-]+) -->$", re.MULTILINE)


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Publish the OpenAPI document beside the reference, for tools and for download."""
    files.append(
        File.generated(config, "reference/openapi.json", abs_src_path=str(api_page.DOCUMENT))
    )
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Replace each reference marker with the page generated from the code."""

    def generate(match: re.Match[str]) -> str:
        name = match.group("name")
        if name not in GENERATORS:
            raise PluginError(f"{page.file.src_uri}: no generated reference named {name!r}")
        try:
            return GENERATORS[name]()
        except Undocumented as error:
            raise PluginError(f"{page.file.src_uri}: {error}") from error

    return MARKER.sub(generate, markdown)
