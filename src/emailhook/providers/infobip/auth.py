"""Who may post Infobip's webhook: the sender's secret, in constant time, several ways at once.

Infobip's per-message ``notifyUrl`` can carry only a secret inside the URL; its subscriptions
can send HTTP Basic, a bearer token, a static header or an HMAC of the body
(``shared/docs/infobip-webhooks.md``). Every method takes a list of secrets so that one can
rotate without downtime, and every configured secret is compared, matched or not, so the time
taken tells nothing about which one came close.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from emailhook.providers.base import AuthenticationError, ProviderValues

log = logging.getLogger("emailhook.auth")

#: the method names that appear in log lines (never a secret)
URL_TOKEN, BASIC, HEADER, BEARER, HMAC = "url_token", "basic", "header", "bearer", "hmac"
#: ``sha256=<digest>`` (GitHub style) or ``hmac-sha256=<digest>``: the label is ignored; the
#: part after it never starts with ``=``, so base64 padding (``...==``) is never taken for one
_SIGNATURE_LABEL = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*=(?=[^=])")
#: the challenge of a 401 when HTTP Basic is configured (as it always read: no charset)
BASIC_CHALLENGE = 'Basic realm="emailhook"'


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a request offers, as plain values: no framework object crosses into here."""

    path_token: str | None = None
    query_token: str | None = None
    #: request headers; names are matched case-insensitively
    headers: Mapping[str, str] | None = None
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a request is let in, and by which method (or which methods it tried)."""

    accepted: bool
    method: str


class WebhookAuth:
    """Checks a request's credentials against every configured secret of every method."""

    def __init__(
        self,
        *,
        tokens: Iterable[str] = (),
        basic: Iterable[str] = (),
        header_name: str = "X-Webhook-Secret",
        header_values: Iterable[str] = (),
        bearer: Iterable[str] = (),
        hmac_keys: Iterable[str] = (),
        hmac_header: str = "X-Signature",
        hmac_algorithm: str = "sha256",
        hmac_encoding: str = "hex",
    ) -> None:
        self._tokens = _encoded(tokens)
        self._basic = _encoded(basic)
        self._header_name = header_name.lower()
        self._header_secrets = _encoded(header_values)
        self._bearer = _encoded(bearer)
        self._hmac_keys = _encoded(hmac_keys)
        self._hmac_header = hmac_header.lower()
        self._hmac_algorithm = hashlib.new(hmac_algorithm).name  # fails early on a typo
        self._hmac_base64 = hmac_encoding == "base64"

    @classmethod
    def from_values(cls, values: ProviderValues) -> WebhookAuth:
        """Return the check configured by Infobip's settings (``Infobip.settings``)."""
        return cls(
            tokens=values["webhook_tokens"],
            basic=values["basic_auth"],
            header_name=values["secret_header"],
            header_values=values["secret_header_values"],
            bearer=values["bearer_tokens"],
            hmac_keys=values["hmac_secrets"],
            hmac_header=values["hmac_header"],
            hmac_algorithm=values["hmac_algorithm"],
            hmac_encoding=values["hmac_encoding"],
        )

    @property
    def methods(self) -> tuple[str, ...]:
        """The configured methods; empty means every request is let in (development only)."""
        configured = {
            URL_TOKEN: self._tokens,
            BASIC: self._basic,
            HEADER: self._header_secrets,
            BEARER: self._bearer,
            HMAC: self._hmac_keys,
        }
        return tuple(name for name, secrets in configured.items() if secrets)

    @property
    def challenges_basic(self) -> bool:
        """True when HTTP Basic is configured: a 401 then names it in ``WWW-Authenticate``."""
        return bool(self._basic)

    def check(self, offered: Credentials) -> Verdict:
        """Return whether ``offered`` matches a configured secret of any configured method."""
        methods = self.methods
        if not methods:
            return Verdict(accepted=True, method="none_configured")
        headers = {name.lower(): value for name, value in (offered.headers or {}).items()}
        scheme, _, credential = headers.get("authorization", "").strip().partition(" ")
        scheme, credential = scheme.lower(), credential.strip()
        url_tokens = [_text_bytes(offered.path_token), _text_bytes(offered.query_token)]
        # Every method is checked, configured or not, matched or not: the time is the same.
        results = {
            URL_TOKEN: _any_equal(url_tokens, self._tokens),
            BASIC: _any_equal([_basic_credentials(scheme, credential)], self._basic),
            HEADER: _any_equal(
                [_header_bytes(headers.get(self._header_name))], self._header_secrets
            ),
            BEARER: _any_equal(
                [_header_bytes(credential) if scheme == BEARER else None], self._bearer
            ),
            HMAC: self._signature_matches(headers.get(self._hmac_header), offered.body),
        }
        for method in methods:
            if results[method]:
                return Verdict(accepted=True, method=method)
        return Verdict(accepted=False, method=self._tried(offered, headers, scheme))

    def verify(self, offered: Credentials, *, remote_addr: str | None) -> str:
        """Return the method that let the request in, or raise AuthenticationError (401,
        inviting HTTP Basic credentials when that method is configured)."""
        verdict = self.check(offered)
        if not verdict.accepted:
            record_rejection(verdict.method, remote_addr)
            challenge = BASIC_CHALLENGE if self.challenges_basic else None
            raise AuthenticationError(f"tried={verdict.method}", challenge=challenge)
        return verdict.method

    def _signature_matches(self, signature: str | None, body: bytes) -> bool:
        offered = self._decode_signature(signature)
        matched = False
        for key in self._hmac_keys:  # every key, always: no early exit
            expected = hmac.new(key, body, self._hmac_algorithm).digest()
            matched |= hmac.compare_digest(expected, offered)
        return matched

    def _tried(self, offered: Credentials, headers: Mapping[str, str], scheme: str) -> str:
        tried = []
        if offered.path_token is not None or offered.query_token is not None:
            tried.append(URL_TOKEN)
        if scheme in (BASIC, BEARER):
            tried.append(scheme)
        if self._header_name in headers:
            tried.append(HEADER)
        if self._hmac_header in headers:
            tried.append(HMAC)
        return ",".join(tried) or "none"

    def _decode_signature(self, signature: str | None) -> bytes:
        text = _SIGNATURE_LABEL.sub("", (signature or "").strip(), count=1)
        try:
            if self._hmac_base64:
                # standard or URL-safe alphabet, with or without padding
                text = text.replace("-", "+").replace("_", "/")
                return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
            return bytes.fromhex(text)
        except (ValueError, binascii.Error):
            return b""


def record_rejection(tried: str, remote_addr: str | None) -> None:
    """Count one refused request: the one place where a metrics counter belongs.

    One warning line per refusal, naming the methods tried and the peer, never a secret.
    """
    log.warning("webhook authentication failed: tried=%s remote=%s", tried, remote_addr or "-")


def _encoded(secrets: Iterable[str]) -> tuple[bytes, ...]:
    return tuple(b for b in (_text_bytes(s) for s in secrets) if b)


def _text_bytes(text: str | None) -> bytes | None:
    # compare_digest takes str only when it is ASCII; a path segment may be any Unicode
    # (lone surrogates included), so compare UTF-8 bytes
    return None if text is None else text.encode("utf-8", "surrogatepass")


def _header_bytes(value: str | None) -> bytes | None:
    # WSGI hands header values over as Latin-1 text: encoding back gives the bytes as sent
    if value is None:
        return None
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return _text_bytes(value)


def _any_equal(offered: Iterable[bytes | None], secrets: tuple[bytes, ...]) -> bool:
    matched = False
    for candidate in offered:
        if candidate is None:
            continue
        for secret in secrets:  # every secret, always: no early exit
            matched |= hmac.compare_digest(candidate, secret)
    return matched


def _basic_credentials(scheme: str, credential: str) -> bytes | None:
    if scheme != BASIC:
        return None
    try:
        return base64.b64decode(credential, validate=True)
    except (ValueError, binascii.Error):
        return None
