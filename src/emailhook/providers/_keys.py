"""Public keys as providers show them, and signatures checked against a list of them.

Keys come as PEM or as base64 DER without the armour (SendGrid's and Postal's settings pages
both show the latter). A key that cannot be read is a configuration error, raised as
ValueError naming the setting when the provider is built, never at the first request. A
signature verifies when one key of the list (rotation) verifies it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable
from typing import TypeVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

Key = TypeVar("Key")


def load_public_key(value: str, setting: str) -> PublicKeyTypes:
    """Return the public key in ``value`` (PEM or base64 DER SubjectPublicKeyInfo); raise
    ValueError naming ``setting`` when it holds none."""
    data = value.strip().encode()
    try:
        if data.startswith(b"-----BEGIN"):
            return serialization.load_pem_public_key(data)
        return serialization.load_der_public_key(base64.b64decode(data, validate=True))
    except (ValueError, binascii.Error) as error:
        raise ValueError(f"{setting}: not a public key: {error}") from None


def verified_by_any(keys: Iterable[Key], verify: Callable[[Key], None]) -> bool:
    """Return True when ``verify(key)`` passes for one of ``keys`` (``verify`` raises
    InvalidSignature for a key that did not sign)."""
    for key in keys:
        try:
            verify(key)
        except InvalidSignature:
            continue
        return True
    return False
