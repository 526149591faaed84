"""Amazon SNS message signatures: the canonical string, the signing certificates, the check.

SNS signs a canonical string of envelope fields ("Key\\nValue\\n" for each, in a fixed order)
with RSA PKCS#1 v1.5, SHA1 for SignatureVersion 1 and SHA256 for 2, under the certificate at
``SigningCertURL``. That URL comes with the message, so it is fetched only when it matches the
configured pattern (SNS's own hosts), and each certificate is fetched once per URL.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
from collections.abc import Mapping
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from emailhook.providers.base import AuthenticationError, Fetch

#: the fields signed, in order, per message type (Subject only when present)
SIGNED_FIELDS: dict[str, tuple[str, ...]] = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type",
    ),
    "UnsubscribeConfirmation": (
        "Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type",
    ),
}  # fmt: skip

#: SignatureVersion -> the digest SNS signs with
DIGESTS: dict[str, type[hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}

#: a certificate cache holds at most this many URLs (SNS uses one per region, rotated rarely)
MAX_CERTIFICATES = 32


def canonical_string(message: Mapping[str, Any]) -> bytes:
    """Return what SNS signed for ``message``; raise AuthenticationError if a field lacks."""
    fields = SIGNED_FIELDS.get(str(message.get("Type")))
    if fields is None:
        raise AuthenticationError(f"SNS message of unknown Type {message.get('Type')!r}")
    parts = []
    for name in fields:
        value = message.get(name)
        if value is None and name == "Subject":
            continue
        if not isinstance(value, str):
            raise AuthenticationError(f"SNS message without {name}")
        parts.append(f"{name}\n{value}\n")
    return "".join(parts).encode("utf-8")


class SigningCertificates:
    """SNS signing certificates, fetched through ``fetch`` only from allowed URLs, cached."""

    def __init__(self, allowed: re.Pattern[str], fetch: Fetch | None) -> None:
        self._allowed = allowed
        self._fetch = fetch
        self._keys: dict[str, rsa.RSAPublicKey] = {}
        self._lock = threading.Lock()

    def allows(self, url: str) -> bool:
        """Return True when ``url`` may be fetched (the pattern matches at its start)."""
        return self._allowed.match(url) is not None

    def key(self, url: str) -> rsa.RSAPublicKey:
        """Return the RSA key of the certificate at ``url``, fetching it once."""
        if not self.allows(url):
            raise AuthenticationError(f"SigningCertURL {url!r} is not an SNS host")
        with self._lock:
            cached = self._keys.get(url)
        if cached is not None:
            return cached
        if self._fetch is None:
            raise AuthenticationError("no fetch given: SNS certificates cannot be read")
        try:
            pem = self._fetch(url)
            certificate = x509.load_pem_x509_certificate(pem)
        except (OSError, ValueError) as error:
            raise AuthenticationError(f"SNS certificate at {url!r} unusable: {error}") from error
        key = certificate.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise AuthenticationError("SNS certificate does not hold an RSA key")
        with self._lock:
            if len(self._keys) >= MAX_CERTIFICATES:
                self._keys.pop(next(iter(self._keys)))
            self._keys[url] = key
        return key

    def verify(self, message: Mapping[str, Any]) -> None:
        """Return if ``message`` carries a valid SNS signature; else AuthenticationError."""
        digest = DIGESTS.get(str(message.get("SignatureVersion")))
        if digest is None:
            raise AuthenticationError("SNS SignatureVersion is neither 1 nor 2")
        url = message.get("SigningCertURL")
        signature = message.get("Signature")
        if not isinstance(url, str) or not isinstance(signature, str):
            raise AuthenticationError("SNS message without SigningCertURL or Signature")
        try:
            raw = base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError) as error:
            raise AuthenticationError("SNS Signature is not base64") from error
        signed = canonical_string(message)
        key = self.key(url)
        try:
            key.verify(raw, signed, padding.PKCS1v15(), digest())
        except InvalidSignature as error:
            raise AuthenticationError("SNS signature does not verify") from error
