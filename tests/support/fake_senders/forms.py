"""Form bodies (multipart/form-data and urlencoded) as an ordered list of fields."""

from __future__ import annotations

import email.parser
import email.policy
from dataclasses import dataclass
from urllib.parse import parse_qsl

from support.fake_senders.core import Request


@dataclass(frozen=True)
class Field:
    name: str
    value: str  # text fields; files keep their bytes in ``data``
    filename: str | None = None
    data: bytes = b""


class FormError(ValueError):
    pass


def form_fields(request: Request) -> list[Field]:
    """Every field in order (repeated names stay repeated), or FormError."""
    kind = request.header("Content-Type") or ""
    if kind.startswith("application/x-www-form-urlencoded"):
        text = request.body.decode()
        return [Field(k, v) for k, v in parse_qsl(text, keep_blank_values=True)]
    if not kind.startswith("multipart/form-data"):
        raise FormError(f"expected a form body, got Content-Type {kind!r}")
    head = f"Content-Type: {kind}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.body)
    if not message.is_multipart():
        raise FormError("multipart body without parts")
    fields = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            raise FormError("a part without a name")
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        text = "" if filename else data.decode(part.get_content_charset() or "utf-8")
        fields.append(Field(name, text, filename, data if filename else b""))
    return fields
