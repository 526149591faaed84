"""How an inbox body is kept on disk: deflated (zlib) when that is smaller, else as received.

``inbox_body.body_encoding`` says which: ``IDENTITY`` (0, every body stored before migration
0009, and the few bodies that deflate does not shrink) or ``DEFLATE`` (1). Bodies are encoded
once, when they are inserted (``inbox._rows``: the spool promoter, the group commit and every
other writer), and decoded by every reader (``inbox.load_pending``, ``InboxBody.body``), so the
rest of the service sees the request byte for byte. Level 1 because the encoding runs on the
web process's promoter thread: on the growth benchmark's mix it keeps 97 % of level 6's saving
(870 -> 170 bytes an event against 160) at two thirds of its time (docs/growth.md).
"""

from __future__ import annotations

import zlib

IDENTITY = 0
DEFLATE = 1
LEVEL = 1
#: below this a body is kept as received: zlib's 6 bytes of framing would eat the saving
MIN_SIZE = 64


class UnknownBodyEncodingError(ValueError):
    """A stored body carries an encoding this version does not know (written by a newer one)."""


def encode(body: bytes) -> tuple[bytes, int]:
    """Return the bytes to store for ``body`` and their encoding."""
    if len(body) < MIN_SIZE:
        return body, IDENTITY
    deflated = zlib.compress(body, LEVEL)
    if len(deflated) >= len(body):
        return body, IDENTITY
    return deflated, DEFLATE


def decode(stored: bytes, encoding: int) -> bytes:
    """Return the body as received from what ``encode`` stored."""
    if encoding == IDENTITY:
        return bytes(stored)
    if encoding == DEFLATE:
        return zlib.decompress(stored)
    raise UnknownBodyEncodingError(f"inbox body encoding {encoding} is unknown to this version")
