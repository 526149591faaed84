"""The command-line reference: every command of the ``emailhook`` click group, read from it.

The group is the console script that ``pyproject.toml`` installs (``[project.scripts]``), so the
reference follows the code wherever the CLI module moves. A command without help, or an option
without help, is :class:`Undocumented`.
"""

from __future__ import annotations

import importlib
import tomllib
from collections.abc import Iterator
from pathlib import Path

import click

from docsite import Undocumented
from docsite.markdown import cell, code

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = "emailhook"


def cli() -> click.Command:
    """Return the click command behind the ``emailhook`` console script."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    module, _, attribute = project["scripts"][SCRIPT].partition(":")
    command = getattr(importlib.import_module(module), attribute)
    if not isinstance(command, click.Command):
        raise TypeError(f"{project['scripts'][SCRIPT]} is not a click command")
    return command


def commands(root: click.Command | None = None) -> list[tuple[str, click.Command]]:
    """Return every visible command as (``emailhook group command``, command), depth first."""
    return list(_walk(root or cli(), SCRIPT))


def subcommands(group: click.Group) -> list[tuple[str, click.Command]]:
    """Return a group's commands by name, in order, those it imports when asked too."""
    context = click.Context(group)
    found = ((name, group.get_command(context, name)) for name in group.list_commands(context))
    return sorted(((name, sub) for name, sub in found if sub is not None), key=lambda p: p[0])


def anchor(path: str) -> str:
    """Return the reference's anchor of a command path (``emailhook-inbox-replay``)."""
    return path.replace(" ", "-")


def render(root: click.Command | None = None) -> str:
    """Return the Markdown of every command: usage, help, arguments and options."""
    found = commands(root)
    _check(found)
    lines: list[str] = []
    for path, command in found:
        level = "##" if path.count(" ") <= 1 else "###"
        lines += [f"{level} {code(path)} {{ #{anchor(path)} }}", ""]
        lines += ["```", _usage(path, command), "```", ""]
        lines += [_help(command), ""]
        if isinstance(command, click.Group):
            lines += [
                "| command | what |",
                "|---|---|",
                *(
                    f"| [{code(path + ' ' + name)}](#{anchor(path + ' ' + name)}) | "
                    f"{cell(sub.get_short_help_str(limit=200))} |"
                    for name, sub in subcommands(command)
                    if not sub.hidden
                ),
                "",
            ]
        lines += _parameters(command)
    return "\n".join(lines)


def _walk(command: click.Command, path: str) -> Iterator[tuple[str, click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in subcommands(command):
            if not sub.hidden:
                yield from _walk(sub, f"{path} {name}")


def _check(found: list[tuple[str, click.Command]]) -> None:
    missing = [path for path, command in found if not (command.help or "").strip()]
    missing += [
        f"{path} {'/'.join(param.opts)}"
        for path, command in found
        for param in command.params
        if isinstance(param, click.Option) and not param.hidden and not (param.help or "").strip()
    ]
    if missing:
        raise Undocumented(
            "CLI commands or options without help (a docstring, or help=...): " + ", ".join(missing)
        )


def _usage(path: str, command: click.Command) -> str:
    context = click.Context(command, info_name=path)
    return f"{path} {' '.join(command.collect_usage_pieces(context))}".strip()


def _help(command: click.Command) -> str:
    """The help text as click shows it: up to ``\\f``, ``\\b`` blocks kept as written."""
    text = (command.help or "").split("\f")[0]
    paragraphs = []
    for part in text.strip().split("\n\n"):
        if part.lstrip().startswith("\b"):
            block = part.lstrip()[1:].strip("\n")
            paragraphs.append("```\n" + block + "\n```")
        else:
            paragraphs.append(" ".join(part.split()))
    return "\n\n".join(paragraphs)


def _parameters(command: click.Command) -> list[str]:
    rows = []
    for param in command.params:
        if isinstance(param, click.Argument):
            many = " ..." if param.nargs == -1 else ""
            rows.append(
                f"| {code(param.human_readable_name + many)} | argument "
                f"({cell(param.type.name)}{', required' if param.required else ''}) | |"
            )
        elif isinstance(param, click.Option) and not param.hidden:
            names = ", ".join(code(opt) for opt in (*param.opts, *param.secondary_opts))
            kind = "flag" if param.is_flag else cell(param.type.name)
            if isinstance(param.type, click.Choice):
                kind = "one of " + ", ".join(code(str(choice)) for choice in param.type.choices)
            default = param.get_default(click.Context(command), call=False)
            shown = f"; default {code(str(default))}" if _shown(default) else ""
            if param.multiple:
                kind += ", repeatable"
            if param.required:
                kind += ", required"
            rows.append(f"| {names} | {kind}{shown} | {cell(param.help or '')} |")
    if not rows:
        return []
    return ["| parameter | type | what |", "|---|---|---|", *rows, ""]


def _shown(default: object) -> bool:
    """A default worth printing: a value, not click's "unset" marker, a flag's off or a call."""
    if default is None or default is False or default == () or callable(default):
        return False
    return type(default).__name__ != "Sentinel"
