"""The HTTP API reference: every operation and schema of the OpenAPI document the app serves.

The document is the one ``GET /openapi.json`` answers with (and that schemathesis checks the
app against), so this page shows what the service does. An operation without an
``operationId`` or a summary is :class:`Undocumented`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from docsite import Undocumented
from docsite.markdown import cell, code, prose

ROOT = Path(__file__).resolve().parents[2]
#: the document, beside the web entrypoint that serves it
DOCUMENT = ROOT / "src" / "emailhook" / "entrypoints" / "web" / "openapi.json"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

Spec = dict[str, Any]


def document() -> Spec:
    """Return the OpenAPI document."""
    loaded: Spec = json.loads(DOCUMENT.read_text())
    return loaded


def operations(spec: Spec) -> list[tuple[str, str, Spec]]:
    """Return (method, path, operation) of every operation, in the document's order."""
    return [
        (method, path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def render(spec: Spec | None = None) -> str:
    """Return the Markdown of the whole API: operations by tag, security schemes, schemas."""
    spec = spec or document()
    found = operations(spec)
    missing = [
        f"{method.upper()} {path}"
        for method, path, operation in found
        if not operation.get("operationId") or not operation.get("summary")
    ]
    if missing:
        raise Undocumented(f"operations without an operationId or a summary: {', '.join(missing)}")
    info = spec["info"]
    lines = [f"OpenAPI {spec['openapi']}, {code(info['title'])} {info['version']}.", ""]
    lines += [prose(info.get("description", "")), ""]
    for tag in spec.get("tags", []):
        lines += [f"## {tag['name'].capitalize()} {{ #tag-{tag['name']} }}", ""]
        lines += [prose(tag.get("description", "")), ""]
        for method, path, operation in found:
            if tag["name"] in operation.get("tags", []):
                lines += _operation(spec, method, path, operation)
    untagged = [op for op in found if not op[2].get("tags")]
    if untagged:
        lines += ["## Other operations", ""]
        for method, path, operation in untagged:
            lines += _operation(spec, method, path, operation)
    lines += _security_schemes(spec)
    lines += _schemas(spec)
    return "\n".join(lines)


def _operation(spec: Spec, method: str, path: str, operation: Spec) -> list[str]:
    lines = [f"### {code(method.upper() + ' ' + path)} {{ #{operation['operationId']} }}", ""]
    lines += [f"**{operation['summary']}**", ""]
    if operation.get("description"):
        lines += [prose(operation["description"]), ""]
    requirements = operation.get("security", spec.get("security"))
    if requirements:
        lines += [_security_line(requirements), ""]
    parameters = [_resolve(spec, p) for p in operation.get("parameters", [])]
    if parameters:
        lines += ["| parameter | in | type | description |", "|---|---|---|---|"]
        for parameter in parameters:
            required = ", required" if parameter.get("required") else ""
            lines.append(
                f"| {code(parameter['name'])} | {parameter['in']}{required} | "
                f"{_type(parameter.get('schema', {}))} | "
                f"{cell(parameter.get('description', ''))} |"
            )
        lines.append("")
    body = operation.get("requestBody")
    if body:
        body = _resolve(spec, body)
        required = " (required)" if body.get("required") else ""
        for media, content in body.get("content", {}).items():
            lines += [f"Request body{required}, {code(media)}: {_type(content.get('schema', {}))}"]
            lines.append("")
    lines += ["| status | description | content |", "|---|---|---|"]
    for status, response in operation.get("responses", {}).items():
        response = _resolve(spec, response)
        content = "; ".join(
            f"{code(media)} {_type(value.get('schema', {}))}".strip()
            for media, value in response.get("content", {}).items()
        )
        lines.append(f"| {status} | {cell(response.get('description', ''))} | {content} |")
    lines.append("")
    return lines


def _security_line(requirements: list[Spec]) -> str:
    names = [" and ".join(f"[{n}](#security-{n})" for n in req) for req in requirements if req]
    optional = any(not req for req in requirements)
    text = "Authentication: " + (" or ".join(names) if names else "none")
    if names and optional:
        text += " (or none, where none is configured)"
    return text + "."


def _security_schemes(spec: Spec) -> list[str]:
    schemes = spec.get("components", {}).get("securitySchemes", {})
    if not schemes:
        return []
    lines = ["## Authentication schemes", ""]
    for name, scheme in schemes.items():
        kind = scheme.get("scheme") or scheme.get("type", "")
        where = f", {code(scheme['name'])} in {scheme['in']}" if "name" in scheme else ""
        lines += [f"### {name} {{ #security-{name} }}", "", f"{kind}{where}.", ""]
        if scheme.get("description"):
            lines += [prose(scheme["description"]), ""]
    return lines


def _schemas(spec: Spec) -> list[str]:
    schemas = spec.get("components", {}).get("schemas", {})
    lines = ["## Schemas", ""]
    for name, schema in schemas.items():
        lines += [f"### {name} {{ #schema-{name} }}", ""]
        if schema.get("description"):
            lines += [prose(schema["description"]), ""]
        properties = schema.get("properties", {})
        if properties:
            required = set(schema.get("required", []))
            lines += ["| field | type | description |", "|---|---|---|"]
            for field, value in properties.items():
                mark = " (required)" if field in required else ""
                lines.append(
                    f"| {code(field)}{mark} | {_type(value)} | "
                    f"{cell(value.get('description', ''))} |"
                )
            lines.append("")
        else:
            lines += [f"Type: {_type(schema)}", ""]
    return lines


def _resolve(spec: Spec, value: Spec) -> Spec:
    """Follow a ``$ref`` within the document (parameters, responses, request bodies)."""
    while "$ref" in value:
        node: Any = spec
        for part in value["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        value = node
    return value


def _type(schema: Spec) -> str:
    """Return a schema as a short type: links to named schemas, arrays, unions, enums."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#schema-{name})"
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " or ".join(_type(part) for part in schema[key])
    if "allOf" in schema:
        return " and ".join(_type(part) for part in schema["allOf"])
    if "enum" in schema:
        return "one of " + ", ".join(code(json.dumps(v)) for v in schema["enum"])
    if "const" in schema:
        return code(json.dumps(schema["const"]))
    kind = schema.get("type", "any")
    kinds = kind if isinstance(kind, list) else [kind]
    words = []
    for one in kinds:
        if one == "array":
            words.append(f"array of {_type(schema.get('items', {}))}")
        elif one == "object" and schema.get("properties"):
            words.append("object {" + ", ".join(code(p) for p in schema["properties"]) + "}")
        else:
            words.append(str(one) + (f" ({schema['format']})" if "format" in schema else ""))
    return " or ".join(words)
