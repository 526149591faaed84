"""One-click unsubscribe tokens (RFC 8058): a message's public id, signed.

``<public id>.<signature>``: HMAC-SHA256 of the id under the first secret, 128 bits in
base64url. Any listed secret verifies (rotation: add the new one first, drop the old one once
its messages are old). A token names one message and nothing else can be made from it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence

_DOMAIN = b"emailhook-unsubscribe:"


def _signature(secret: str, public_id: str) -> str:
    mac = hmac.new(secret.encode(), _DOMAIN + public_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:16]).rstrip(b"=").decode()


def sign(public_id: str, secrets: Sequence[str]) -> str:
    """Return the token of ``public_id`` under the first of ``secrets``."""
    if not secrets:
        raise ValueError("no unsubscribe secret")
    return f"{public_id}.{_signature(secrets[0], public_id)}"


def verify(token: str, secrets: Sequence[str]) -> str | None:
    """Return the public id a token names, or None for a forged or foreign one."""
    public_id, dot, offered = token.rpartition(".")
    if not dot or not public_id or not offered:
        return None
    matched = False
    for secret in secrets:  # every secret, always: no early exit
        matched |= hmac.compare_digest(_signature(secret, public_id), offered)
    return public_id if matched else None
