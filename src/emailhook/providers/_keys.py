"""Public keys as providers show them: PEM, or base64 DER without the armour (SendGrid's
and Postal's settings pages both show the latter).

A key that cannot be read is a configuration error, raised as ValueError naming the
setting, when the provider is built: never at the first request.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes


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
