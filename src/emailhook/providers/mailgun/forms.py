"""Mailgun's legacy webhook bodies: form fields, url-encoded or multipart.

Before 2018 Mailgun posted each event as form fields, the signature fields among them, and the
sender's user-variables merged into the same namespace. Both encodings are read into
``{name: [values...]}``; multipart with the stdlib ``email`` package (no framework's parser).
"""

from __future__ import annotations

from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qs

from emailhook.providers.base import UnreadableBodyError

Form = dict[str, list[str]]

URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"


def media_type(content_type: str) -> str:
    """Return the media type of a Content-Type header, lower-cased, without parameters."""
    return content_type.partition(";")[0].strip().lower()


def read_form(body: bytes, content_type: str) -> Form:
    """Return the fields of a url-encoded or multipart body; raise UnreadableBodyError else."""
    kind = media_type(content_type)
    if kind == URLENCODED:
        try:
            return parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=10_000)
        except (UnicodeDecodeError, ValueError) as error:
            raise UnreadableBodyError(f"Mailgun form body unreadable: {error}") from error
    if kind == MULTIPART:
        return _multipart(body, content_type)
    raise UnreadableBodyError(f"Mailgun body of type {kind or 'none'} is neither JSON nor a form")


def _multipart(body: bytes, content_type: str) -> Form:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise UnreadableBodyError("Mailgun multipart body has no parts")
    form: Form = {}
    for part in message.iter_parts():
        name = _field_name(part)
        if name is None:
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue  # a nested multipart: not a form field
        charset = part.get_content_charset() or "utf-8"
        form.setdefault(name, []).append(payload.decode(charset, "replace"))
    if not form:
        raise UnreadableBodyError("Mailgun multipart body has no form fields")
    return form


def _field_name(part: Message) -> str | None:
    name = part.get_param("name", header="content-disposition")
    if isinstance(name, tuple):  # RFC 2231 encoded: (charset, language, value)
        name = name[2]
    return name if isinstance(name, str) and name else None


def first(form: Form, name: str) -> str | None:
    """Return a field's first value: user-variables merged in come after Mailgun's own."""
    values = form.get(name)
    return values[0] if values else None


def last(form: Form, name: str) -> str | None:
    """Return a field's last value: for token, timestamp and signature, Mailgun's own value
    comes after a user-variable of the same name (anymail's finding)."""
    values = form.get(name)
    return values[-1] if values else None
