"""An event's dedupe key as ``email_callback.event_key`` stores it: 21 bytes, not 43+ characters.

The parsers make keys as text (``domain``/``providers`` stay free of storage concerns):
Infobip's ``dr:<40 hex>`` (delivery report), ``tr:<40 hex>`` (tracking event without an
eventId), ``bl:<40 hex>`` (blocklist event), ``pe:<40 hex>`` (platform event), ``ev:<eventId>``
and ``ev#<40 hex>`` (an eventId, digested when longer than 100 characters); every other
provider's ``<provider>:<40 hex>`` (``providers.base.event_key``). Almost every key is thus a
20-byte blake2b digest written in hex behind a prefix. :func:`stored_key` keeps the digest's
20 bytes behind one *kind byte* per prefix (``KINDS``), so keys of different providers and
kinds never meet, and the unique index, the largest of the table and the one every insert
probes at random, is about half the size (docs/growth.md).

Why a kind byte per prefix rather than a digest of the whole text: the kind byte keeps the
key readable back (:func:`key_text`, the migration's downgrade gives back the very text keys)
and costs no hash at insert. Its hazard is a table: ``KINDS`` is append-only (a byte once
given is never reused nor changed), and every registered provider has its byte before it
stores anything (tests/unit/test_event_keys_stored.py checks the registry against it). Any
other text (a key of a test, a prefix not in the table, hex not as the parsers write it) is
digested whole under ``OTHER_KIND``: still distinct from every other key but by a digest
collision (160 bits).

An ``ev:<eventId>`` is digested as Infobip's parsing digests a long one, so both forms of one
eventId are one key; the id itself stays readable in ``provider_event_id``.

Pure: stdlib only; the store's insert, the reconciler's lookup and migration 0007 use it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

#: the kind byte of each prefix whose keys are ``<prefix>:<40 hex>`` (append-only)
KINDS: Mapping[str, int] = {
    "dr": 1,  #: Infobip delivery report (``report_key``)
    "tr": 2,  #: Infobip tracking event without an eventId
    "bl": 4,  #: Infobip e-mail blocklist event
    "pe": 5,  #: Infobip platform event without an eventId (platform_event keeps text keys)
    #: the other providers, ``providers.base.event_key(<name>, ...)``
    "amazon_ses": 16,
    "sendgrid": 17,
    "mailgun": 18,
    "postmark": 19,
    "resend": 20,
    "sparkpost": 21,
    "mailjet": 22,
    "mandrill": 23,
    "brevo": 24,
    "postal": 25,
    "mailersend": 26,
    "unisender_go": 27,
    #: emailhook's own events (a one-click unsubscribe), ``event_key("emailhook", ...)``
    "emailhook": 28,
}
#: Infobip's eventId keys: ``ev:<eventId>`` digested, ``ev#<40 hex>`` as it is
EVENT_ID_KIND = 3
#: any other key: digested whole
OTHER_KIND = 0
STORED_KEY_BYTES = 21
_DIGEST_CHARS = 40

_BY_KIND = {kind: prefix for prefix, kind in KINDS.items()}


def stored_key(key: str) -> bytes:
    """Return ``key`` as ``email_callback.event_key`` stores it: a kind byte and 20 bytes."""
    prefix, sep, rest = key.partition(":")
    if sep and prefix in KINDS:
        digest = _hex_digest(rest)
        if digest is not None:
            return bytes([KINDS[prefix]]) + digest
    elif key.startswith("ev#"):
        digest = _hex_digest(key[3:])
        if digest is not None:
            return bytes([EVENT_ID_KIND]) + digest
    if sep and prefix == "ev":
        return bytes([EVENT_ID_KIND]) + _blake(rest)
    return bytes([OTHER_KIND]) + _blake(key)


def key_text(stored: bytes, event_id: str | None) -> str:
    """Return the text key that :func:`stored_key` turned into ``stored`` (``event_id``: the
    row's ``provider_event_id``). A key digested whole does not come back: it is given as
    ``k#<hex of the 21 bytes>``, unique still, but a text no parser makes."""
    kind, digest = stored[0], bytes(stored[1:]).hex()
    if kind in _BY_KIND:
        return f"{_BY_KIND[kind]}:{digest}"
    if kind == EVENT_ID_KIND:
        if event_id and len(event_id) <= 100 and _blake(event_id).hex() == digest:
            return f"ev:{event_id}"
        return f"ev#{digest}"
    return f"k#{bytes(stored).hex()}"


def _hex_digest(text: str) -> bytes | None:
    """Return the 20 bytes of ``text`` when it is 40 lower-case hex digits exactly."""
    if len(text) != _DIGEST_CHARS:
        return None
    try:
        digest = bytes.fromhex(text)
    except ValueError:
        return None
    # fromhex also reads upper case and spaces: only the parsers' own form maps back to it
    return digest if digest.hex() == text else None


def _blake(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=20).digest()
