"""The documentation site: it builds in strict mode, its reference holds every setting, command
and operation of the code, every page is within two clicks of the home page, and it fetches
nothing from another host.

One strict build (about 5 s) serves every test of the built site; the generators' refusals of
undocumented code are tested without a build.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlparse

import click
import pytest
from pydantic import AliasChoices, Field

from docsite import Undocumented, api_page, cli_page, settings_page
from emailhook.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
#: the pages of the built site that are not documentation pages
NOT_PAGES = {"404.html", "search/search_index.json"}


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    """Build the site as `make docs-build` does (strict), into a temporary folder."""
    out = tmp_path_factory.mktemp("site")
    environment = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


@pytest.fixture(scope="module")
def site(build: subprocess.CompletedProcess[str]) -> Path:
    """The built site; its tests skip when the build failed (the test below says why)."""
    if build.returncode != 0:
        pytest.skip("the site did not build: see test_the_site_builds_strictly")
    return Path(build.args[build.args.index("--site-dir") + 1])


def test_the_site_builds_strictly(build: subprocess.CompletedProcess[str]) -> None:
    """No broken link or anchor, no page left out of the navigation, nothing undocumented."""
    assert build.returncode == 0, f"mkdocs build --strict failed:\n{build.stderr}{build.stdout}"


def anchors(page: Path) -> set[str]:
    return set(re.findall(r'\sid="([^"]+)"', page.read_text()))


def test_every_setting_has_its_entry(site: Path) -> None:
    found = anchors(site / "reference" / "settings" / "index.html")
    prefix = Settings.model_config.get("env_prefix") or ""
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        variable = alias.choices[0] if isinstance(alias, AliasChoices) else f"{prefix}{name}"
        variable = str(variable).upper()
        assert variable in found, f"setting {name} ({variable}) is not in the reference"


def console_script() -> click.Command:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, attribute = scripts["emailhook"].partition(":")
    command = getattr(__import__(module, fromlist=[attribute]), attribute)
    assert isinstance(command, click.Command)
    return command


def command_paths(command: click.Command, path: str = "emailhook") -> Iterator[str]:
    yield path
    if isinstance(command, click.Group):
        for name, sub in cli_page.subcommands(command):
            if not sub.hidden:
                yield from command_paths(sub, f"{path} {name}")


def test_every_command_has_its_entry(site: Path) -> None:
    found = anchors(site / "reference" / "cli" / "index.html")
    paths = list(command_paths(console_script()))
    assert len(paths) > 10
    for path in paths:
        assert path.replace(" ", "-") in found, f"command {path!r} is not in the reference"


def test_every_operation_has_its_entry(site: Path) -> None:
    found = anchors(site / "reference" / "http-api" / "index.html")
    spec = json.loads(api_page.DOCUMENT.read_text())
    operations = api_page.operations(spec)
    assert len(operations) > 20
    for _method, _path, operation in operations:
        assert operation["operationId"] in found
    for schema in spec["components"]["schemas"]:
        assert f"schema-{schema}" in found
    published = json.loads((site / "reference" / "openapi.json").read_text())
    assert published == spec


def pages(site: Path) -> set[str]:
    """Every page of the built site, as its URL path (``guides/security/``)."""
    found = set()
    for html in site.rglob("index.html"):
        relative = html.relative_to(site).parent.as_posix()
        found.add("" if relative == "." else relative + "/")
    return found


def content_links(site: Path, page: str) -> set[str]:
    """The pages that the page's own content links to (not the navigation around it)."""
    text = (site / page / "index.html").read_text()
    article = text[text.index("<article") : text.index("</article>")]
    base = f"http://site/{page}"
    linked = set()
    for href in re.findall(r'href="([^"]+)"', article):
        url = urlparse(urljoin(base, href))
        if url.netloc == "site" and not Path(url.path).suffix:
            linked.add(url.path.lstrip("/"))
    return linked


def test_every_page_is_within_two_clicks_of_home(site: Path) -> None:
    first = content_links(site, "")
    reached = {""} | first
    for page in first:
        if (site / page / "index.html").exists():
            reached |= content_links(site, page)
    assert pages(site) - reached == set()


def test_nothing_is_fetched_from_another_host(site: Path) -> None:
    """Scripts, stylesheets, fonts and images are the site's own: it reads offline."""
    outside = re.compile(r'<(?:script|link|img)\b[^>]*(?:src|href)="(?:https?:)?//', re.I)
    for html in site.rglob("*.html"):
        assert not outside.search(html.read_text()), f"{html} loads something from another host"
    for css in site.rglob("*.css"):
        assert "fonts.googleapis" not in css.read_text(), css


# --- the generators refuse undocumented code (no build needed) ---


class WithAnUndocumentedSetting(Settings):
    #: a setting with its comment
    documented_extra: int = 1
    undocumented_extra: int = 2


class WithADescribedSetting(Settings):
    described_extra: int = Field(default=3, description="described by its Field")


def test_a_setting_without_a_description_stops_the_reference() -> None:
    with pytest.raises(Undocumented, match="undocumented_extra") as refused:
        settings_page.render(WithAnUndocumentedSetting)
    assert "documented_extra," not in str(refused.value)


def test_a_new_setting_appears_in_the_reference_by_itself() -> None:
    page = settings_page.render(WithADescribedSetting)
    assert "### `EMAILHOOK_DESCRIBED_EXTRA` { #EMAILHOOK_DESCRIBED_EXTRA }" in page
    assert "Described by its Field" in page


def test_a_command_or_option_without_help_stops_the_reference() -> None:
    @click.group()
    def root() -> None:
        """The root."""

    @root.command()
    def silent() -> None:
        pass

    @root.command()
    @click.option("--quiet", is_flag=True)
    def talks() -> None:
        """Talks."""

    with pytest.raises(Undocumented, match=r"emailhook silent, emailhook talks --quiet"):
        cli_page.render(root)


def test_a_new_command_appears_in_the_reference_by_itself() -> None:
    root = console_script()
    assert isinstance(root, click.Group)
    extra = click.Command("extra", help="A command added for this test.", callback=lambda: None)
    group = click.Group(
        "emailhook", commands={**dict(cli_page.subcommands(root)), "extra": extra}, help=root.help
    )
    page = cli_page.render(group)
    assert "## `emailhook extra` { #emailhook-extra }" in page
    assert "A command added for this test." in page


def test_an_operation_without_a_summary_stops_the_reference() -> None:
    spec = api_page.document()
    del spec["paths"]["/healthz"]["get"]["summary"]
    with pytest.raises(Undocumented, match="GET /healthz"):
        api_page.render(spec)
