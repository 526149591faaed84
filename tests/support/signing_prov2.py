"""Test-side senders for the prov2 providers: credentials the tests make (HTTP Basic pairs,
bearer tokens, HMAC keys, RSA keys) and requests carrying them, computed as each provider
documents its scheme, independently of the modules under test."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from emailhook.domain.events import EmailEvent, EventKind, ParsedBody
from emailhook.domain.vocabulary import DELIVERY_TYPES
from emailhook.providers.base import Provider, StoredRequest, WebhookRequest

DATA = Path(__file__).resolve().parents[1] / "data" / "providers"
#: the URL Mandrill is told to call (it signs it)
MANDRILL_URL = "https://hooks.example.test/webhooks/mandrill"
_PLACEHOLDER = "__UNISENDER_AUTH_PLACEHOLDER__"


def sample(provider: str, name: str) -> Any:
    """Return one saved sample (``tests/data/providers/<provider>/<name>.json``), decoded."""
    return json.loads((DATA / provider / f"{name}.json").read_text(encoding="utf-8"))


def json_request(body: bytes, url: str = "https://hooks.example.test/") -> WebhookRequest:
    return WebhookRequest(body, {"content-type": "application/json"}, "application/json", url)


def mandrill_request(events: object, url: str = MANDRILL_URL) -> WebhookRequest:
    """Return Mandrill's form POST: ``mandrill_events`` = the events as JSON."""
    body = urlencode({"mandrill_events": json.dumps(events)}).encode()
    form = "application/x-www-form-urlencoded"
    return WebhookRequest(body, {"content-type": form}, form, url)


def with_header(request: WebhookRequest, name: str, value: str) -> WebhookRequest:
    return replace(request, headers={**request.headers, name.lower(): value})


def basic(pair: str) -> str:
    return "Basic " + base64.b64encode(pair.encode()).decode()


def mandrill_signature(key: str, request: WebhookRequest) -> str:
    """Mandrill's documented scheme: base64 HMAC-SHA1 of URL + sorted POST keys and values."""
    fields = dict(parse_qsl(request.body.decode(), keep_blank_values=True))
    signed = request.url + "".join(k + fields[k] for k in sorted(fields))
    return base64.b64encode(hmac.new(key.encode(), signed.encode(), hashlib.sha1).digest()).decode()


def unisender_signed(data: Mapping[str, Any], api_key: str, **dumps: Any) -> bytes:
    """Return ``data`` as Unisender Go sends it: ``auth`` = MD5 of the body serialized with
    the API key in place of ``auth``'s value (anymail's test recipe)."""
    body = json.dumps({**data, "auth": _PLACEHOLDER}, **dumps)
    digest = hashlib.md5(body.replace(_PLACEHOLDER, api_key).encode()).hexdigest()
    return body.replace(_PLACEHOLDER, digest).encode()


@dataclass(frozen=True)
class RsaSigner:
    """A Postal server's signing key, made by the test."""

    key: rsa.RSAPrivateKey

    @classmethod
    def new(cls) -> RsaSigner:
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=2048))

    def public_der_base64(self) -> str:
        """The public key as Postal's UI shows it: base64 DER SubjectPublicKeyInfo."""
        der = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(der).decode()

    def public_pem(self) -> str:
        return (
            self.key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def sign(self, body: bytes, algorithm: hashes.HashAlgorithm) -> str:
        return base64.b64encode(self.key.sign(body, padding.PKCS1v15(), algorithm)).decode()


@dataclass(frozen=True)
class Credential:
    """One provider credential: the value set in the provider's setting, and how a sender
    attaches it to a request."""

    setting: str
    attach: Callable[[WebhookRequest], WebhookRequest]


def _basic_credential() -> Credential:
    pair = f"hook-{secrets.token_hex(4)}:{secrets.token_urlsafe(16)}"
    return Credential(pair, lambda r: with_header(r, "authorization", basic(pair)))


def _bearer_credential() -> Credential:
    token = secrets.token_urlsafe(24)
    return Credential(token, lambda r: with_header(r, "authorization", f"Bearer {token}"))


def _mandrill_credential() -> Credential:
    key = secrets.token_urlsafe(16)
    return Credential(
        key, lambda r: with_header(r, "x-mandrill-signature", mandrill_signature(key, r))
    )


def _mailersend_credential() -> Credential:
    secret = secrets.token_urlsafe(24)

    def attach(request: WebhookRequest) -> WebhookRequest:
        signature = hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
        return with_header(request, "signature", signature)

    return Credential(secret, attach)


def _postal_credential() -> Credential:
    signer = RsaSigner.new()

    def attach(request: WebhookRequest) -> WebhookRequest:
        signature = signer.sign(request.body, hashes.SHA256())
        return with_header(request, "x-postal-signature-256", signature)

    return Credential(signer.public_der_base64(), attach)


def _unisender_credential() -> Credential:
    api_key = secrets.token_hex(16)

    def attach(request: WebhookRequest) -> WebhookRequest:
        data = json.loads(request.body)
        data.pop("auth", None)
        return replace(request, body=unisender_signed(data, api_key))

    return Credential(api_key, attach)


#: per security case: the provider, the setting its credentials go in, a credential maker
CREDENTIALS: dict[str, tuple[str, str, Callable[[], Credential]]] = {
    "sparkpost": ("sparkpost", "basic_auth", _basic_credential),
    "mailjet": ("mailjet", "basic_auth", _basic_credential),
    "mandrill": ("mandrill", "webhook_keys", _mandrill_credential),
    "brevo-basic": ("brevo", "basic_auth", _basic_credential),
    "brevo-bearer": ("brevo", "bearer_tokens", _bearer_credential),
    "postal": ("postal", "public_keys", _postal_credential),
    "mailersend": ("mailersend", "signing_secrets", _mailersend_credential),
    "unisender_go": ("unisender_go", "api_keys", _unisender_credential),
}


def sample_request(provider: str) -> WebhookRequest:
    """Return an unauthenticated request carrying one real sample of ``provider``."""
    if provider == "mandrill":
        return mandrill_request(sample("mandrill", "send_event"))
    names = {
        "sparkpost": "bounce_event",
        "mailjet": "sent_event",
        "brevo": "hard_bounce",
        "postal": "delivered_event",
        "mailersend": "hard_bounced_event",
        "unisender_go": "multiple_event_option",
    }
    return json_request(json.dumps(sample(provider, names[provider])).encode())


def provider_values(provider: type[Provider], **given: Any) -> dict[str, object]:
    """Return a provider's setting values: ``given`` ones, the others at their defaults
    (lists empty), as the settings layer hands them over."""
    values: dict[str, object] = {}
    for setting in provider.settings:
        if setting.kind in ("secrets", "texts"):
            values[setting.name] = tuple(given.get(setting.name, ()))
        else:
            values[setting.name] = given.get(setting.name, setting.default)
    return values


def stored_sample(provider: str, name: str) -> StoredRequest:
    """Return a saved sample as the inbox keeps it (Mandrill's inside its form body)."""
    if provider == "mandrill":
        return mandrill_request(sample(provider, name)).stored(())
    return StoredRequest((DATA / provider / f"{name}.json").read_bytes(), "application/json")


def sample_names(provider: str) -> list[str]:
    """Return the names of a provider's saved samples, without ``.json``, sorted."""
    return sorted(path.stem for path in (DATA / provider).glob("*.json"))


def parse_sample(provider: Provider, name: str) -> ParsedBody:
    return provider.parse(stored_sample(provider.name, name))


def assert_fields(event: EmailEvent, expected: Mapping[str, object]) -> None:
    """Assert each named field of ``event``, reporting every mismatch at once."""
    actual = {name: getattr(event, name) for name in expected}
    assert actual == dict(expected)
    assert event.kind is (
        EventKind.DELIVERY_REPORT if event.event_type in DELIVERY_TYPES else EventKind.TRACKING
    )
