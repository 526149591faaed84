"""A campaign's message kept once, and each recipient's message as what differs from it.

A campaign of a million recipients sends one message with a million recipients' merge data.
Its upload keeps the message once (the campaign's ``message``: subject, text and html with
their placeholders, sender, headers, metadata, everything but a recipient) and each outbox row
only what is the recipient's own (:func:`own_part`: id, recipient, merged metadata, merge data
and headers when they differ); the placeholders are rendered when the message is read whole
(:func:`whole`): by the worker that sends it, by the API that shows it. The upload renders and
writes no million copies of the body, and what is sent is what ``POST /messages`` would have
rendered: the recipient's merge data over the message's global data. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from emailhook.domain.sending.message import OutgoingMessage
from emailhook.domain.sending.placeholders import render

#: the parts of a message that are each recipient's own, always kept in its row
_OWN = ("public_id", "to")
#: the parts a recipient's row keeps only when they differ from the campaign's message
_MERGED = ("metadata", "merge_data", "headers")
#: the parts of the message whose placeholders are rendered (without a provider template)
_RENDERED = ("subject", "text", "html")


def shared_part(message: OutgoingMessage) -> dict[str, Any]:
    """Return ``message`` (any of the campaign's, unrendered) as the campaign keeps it: the
    outbox's document without what is each recipient's own."""
    document = message.as_json()
    for key in _OWN:
        del document[key]
    return document


def own_part(message: OutgoingMessage, shared: Mapping[str, Any]) -> dict[str, Any]:
    """Return what a recipient's outbox row keeps of ``message`` (unrendered): its id and
    recipient, and its metadata, merge data and headers where they differ from ``shared``."""
    to = message.to
    own: dict[str, Any] = {
        "public_id": message.public_id,
        "to": {
            "email": to.email,
            "name": to.name,
            "merge_data": dict(to.merge_data),
            "metadata": dict(to.metadata),
        },
    }
    for key in _MERGED:
        value = getattr(message, key)
        if value != shared[key]:
            own[key] = dict(value)
    return own


def whole(shared: Mapping[str, Any], own: Mapping[str, Any]) -> dict[str, Any]:
    """Return the outbox document of a recipient's message: the campaign's ``shared`` part
    with the row's ``own`` over it, placeholders rendered from its merge data (the
    recipient's over the message's global data) unless a provider template renders them."""
    document = {**shared, **own}
    if document.get("template_id") is None:
        data = document.get("merge_data") or {}
        for key in _RENDERED:
            document[key] = render(document.get(key), data)
    return document


def message_of(shared: Mapping[str, Any] | None, document: Mapping[str, Any]) -> OutgoingMessage:
    """Return the message an outbox document holds: whole already (``shared`` None: a message
    of ``POST /messages``, or of a campaign from before campaigns kept their message once),
    else a recipient's own part of the campaign's ``shared`` message."""
    return OutgoingMessage.from_json(document if shared is None else whole(shared, document))
