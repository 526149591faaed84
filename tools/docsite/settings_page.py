"""The settings reference: every field of ``Settings``, read from the class itself.

A field's description is its ``Field(description=...)`` (every provider's setting has one, from
its ``ProviderSetting.help``) or the ``#:`` comment right above it in its class (in
``settings/``; the house's way of commenting a declaration). A field with neither is
:class:`Undocumented`. The ``# --- title ---`` comments of the class bodies group the fields
into sections.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import AliasChoices, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from docsite import Undocumented
from docsite.markdown import code, prose
from emailhook.providers.registry import BY_NAME, PROVIDERS
from emailhook.settings import Settings, provider_field_name
from emailhook.settings.types import SecretFor

#: the section of the fields declared before the first ``# --- title ---`` comment
FIRST_SECTION = "The process and where it keeps things"
#: the sections of providers' settings: this prefix and the provider's name
PROVIDER_SECTION = "provider-"
_SECTION = re.compile(r"^\s*# ---\s*(.+?)\s*---\s*$")
_DOC_COMMENT = re.compile(r"^\s*#:\s?(.*)$")


@dataclass(frozen=True, slots=True)
class Setting:
    """One field of Settings as the reference shows it."""

    name: str
    variables: tuple[str, ...]
    description: str
    kind: str
    default: str
    section: str
    #: where it is declared: (the class's place in the MRO, from Settings itself; the line)
    order: tuple[int, int]


def settings(model: type[BaseSettings] = Settings) -> list[Setting]:
    """Return every field of ``model``, in sections; raise Undocumented for one undescribed."""
    comments = dict(_class_comments(model))
    by_provider = {
        provider_field_name(provider, setting): provider
        for provider in PROVIDERS
        for setting in provider.settings
        if not setting.unprefixed  # shown in their own section, as before providers
    }
    found: list[Setting] = []
    missing: list[str] = []
    for name, field in model.model_fields.items():
        provider = by_provider.get(name)
        section, comment, order = comments.get(name, (FIRST_SECTION, "", (len(model.__mro__), 0)))
        if provider is not None:
            section = f"{PROVIDER_SECTION}{provider.name}"
        description = field.description or comment
        if not description.strip():
            missing.append(name)
            continue
        found.append(
            Setting(
                name=name,
                variables=_variables(model, name, field),
                description=description,
                kind=_kind(field),
                default=_default(field),
                section=section,
                order=order,
            )
        )
    if missing:
        raise Undocumented(
            "settings without a description (add a #: comment above the field in "
            f"its class in settings/, or a ProviderSetting help): {', '.join(missing)}"
        )
    return found


def render(model: type[BaseSettings] = Settings) -> str:
    """Return the Markdown of every setting, grouped by section, each under its variable."""
    lines: list[str] = []
    section = None
    for setting in _sections_in_order(settings(model)):
        if setting.section != section:
            section = setting.section
            lines += [*_section_heading(section), ""]
        first, *others = setting.variables
        lines += [f"### {code(first)} {{ #{first} }}", "", _sentence(setting.description), ""]
        facts = [f"**Type**: {setting.kind}", f"**Default**: {setting.default}"]
        if others:
            facts.append("**Also read from**: " + ", ".join(code(v) for v in others))
        facts.append(f"**Field**: {code('Settings.' + setting.name)}")
        lines += [" · ".join(facts), ""]
    return "\n".join(lines)


def _section_heading(section: str) -> list[str]:
    if not section.startswith(PROVIDER_SECTION):
        return [f"## {_sentence(section)}"]
    provider = BY_NAME[section.removeprefix(PROVIDER_SECTION)]
    enabling = ", ".join(
        f"[{code(setting.variable(provider.name))}](#{setting.variable(provider.name)})"
        for setting in provider.settings
        if setting.name in provider.enabled_by
    )
    return [
        f"## {provider.__name__}: {code('POST /webhooks/' + provider.name)} {{ #{section} }}",
        "",
        f"Setting any of {enabling} enables the route.",
    ]


def _sentence(text: str) -> str:
    """Return a ``#:`` comment as prose: its first letter upper-cased."""
    text = prose(text)
    return text[:1].upper() + text[1:]


def _sections_in_order(found: list[Setting]) -> list[Setting]:
    """The service's own sections first, in declaration order, then one per provider."""
    own = sorted(
        (s for s in found if not s.section.startswith(PROVIDER_SECTION)), key=lambda s: s.order
    )
    providers = [s for s in found if s.section.startswith(PROVIDER_SECTION)]
    first = {name: index for index, name in enumerate(dict.fromkeys(s.section for s in own))}
    return sorted(own, key=lambda s: first[s.section]) + providers


Comment = tuple[str, str, tuple[int, int]]


def _class_comments(model: type[BaseSettings]) -> Iterator[tuple[str, Comment]]:
    """Yield each field declared in the bodies of ``model`` and its bases, with its section,
    ``#:`` comment and place (a base made by ``create_model`` has no source, and is skipped)."""
    for rank, klass in reversed(list(enumerate(model.__mro__))):
        if issubclass(klass, BaseSettings) and klass is not BaseSettings:
            try:
                source = textwrap.dedent(inspect.getsource(klass))
            except (OSError, TypeError):
                continue
            for name, (section, comment, line) in _body_comments(source):
                yield name, (section, comment, (rank, line))


def _body_comments(source: str) -> Iterator[tuple[str, tuple[str, str, int]]]:
    lines = source.splitlines()
    tree = ast.parse(source)
    body = tree.body[0]
    assert isinstance(body, ast.ClassDef)
    sections = {
        index: match.group(1)
        for index, line in enumerate(lines)
        if (match := _SECTION.match(line)) is not None
    }
    for node in body.body:
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        first = node.lineno - 1  # 0-based index of the declaration's first line
        comment: list[str] = []
        index = first - 1
        while index >= 0 and (match := _DOC_COMMENT.match(lines[index])) is not None:
            comment.insert(0, match.group(1))
            index -= 1
        above = [title for at, title in sections.items() if at < first]
        section = above[-1] if above else FIRST_SECTION
        yield node.target.id, (section, "\n".join(comment), node.lineno)


def _variables(model: type[BaseSettings], name: str, field: FieldInfo) -> tuple[str, ...]:
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return tuple(str(choice) for choice in alias.choices)
    if isinstance(alias, str):
        return (alias,)
    prefix = model.model_config.get("env_prefix") or ""
    return (f"{prefix}{name}".upper(),)


def _kind(field: FieldInfo) -> str:
    if any(isinstance(mark, SecretFor) for mark in field.metadata):
        return "list of secrets (`a,b` or a JSON array; masked in every log line)"
    return _type_text(field.annotation, list(field.metadata))


def _type_text(annotation: Any, metadata: list[Any]) -> str:
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin in (Union, types.UnionType) and type(None) in args:
        inner = [arg for arg in args if arg is not type(None)]
        return _type_text(inner[0], metadata) + ", or empty"
    if origin is Annotated:
        return _type_text(args[0], metadata + list(getattr(annotation, "__metadata__", ())))
    if origin is Literal:
        return "one of " + ", ".join(code(str(arg)) for arg in args)
    if origin is tuple:
        item = "secrets" if args and args[0] is SecretStr else "texts"
        return f"list of {item} (`a,b` or a JSON array)"
    names = {bool: "boolean (`true` or `false`)", int: "integer", float: "number", str: "text"}
    text = "path" if annotation is Path else names.get(annotation, str(annotation))
    return text + _bounds(metadata)


def _bounds(metadata: list[Any]) -> str:
    words = []
    for mark in metadata:
        for attribute, sign in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
            value = getattr(mark, attribute, None)
            if isinstance(mark, annotated_types.BaseMetadata) and value is not None:
                words.append(f"{sign} {value}")
    return f", {' and '.join(words)}" if words else ""


def _default(field: FieldInfo) -> str:
    value = field.default
    if value is None:
        return "unset"
    if value == ():
        return "empty"
    if isinstance(value, bool):
        return code(str(value).lower())
    return code(str(value))
