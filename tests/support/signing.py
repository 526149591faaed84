"""Test-side senders for the twelve providers: keys and credentials the tests make, the
requests carrying them, the saved samples, and a real HTTP server for SNS certificates.

Every signer is the sender's half of a provider's scheme, written from the provider's docs
and independently of the modules under test: SNS (RSA over the canonical string, certificate
served over HTTP), SendGrid (ECDSA P-256), Mailgun (HMAC over timestamp + token), Svix for
Resend, Mandrill (HMAC-SHA1 over URL and fields), Postal (RSA over the body), Unisender Go
(MD5 with the API key in place of ``auth``), HTTP Basic and bearer tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from emailhook.domain.events import EmailEvent, EventKind, ParsedBody
from emailhook.domain.vocabulary import DELIVERY_TYPES
from emailhook.providers.base import Provider, StoredRequest, WebhookRequest

FETCH_TIMEOUT_SECONDS = 5.0
#: the providers' sample payloads (see each folder's SOURCES.md)
SAMPLES = Path(__file__).resolve().parents[1] / "data" / "providers"
#: the URL Mandrill is told to call (it signs it)
MANDRILL_URL = "https://hooks.example.test/webhooks/mandrill"
_PLACEHOLDER = "__UNISENDER_AUTH_PLACEHOLDER__"


# --- samples and requests ---------------------------------------------------------------


def sample(provider: str, name: str) -> Any:
    """Return a sample payload, decoded: ``sample("sendgrid", "bounce_event")``."""
    return json.loads((SAMPLES / provider / f"{name}.json").read_text("utf-8"))


def sample_bytes(provider: str, name: str) -> bytes:
    """Return a sample payload's bytes as stored."""
    return (SAMPLES / provider / f"{name}.json").read_bytes()


def sample_names(provider: str) -> list[str]:
    """Return the names of a provider's saved samples, without ``.json``, sorted."""
    return sorted(path.stem for path in (SAMPLES / provider).glob("*.json"))


def json_request(body: bytes, url: str = "https://hooks.example.test/") -> WebhookRequest:
    return WebhookRequest(body, {"content-type": "application/json"}, "application/json", url)


def mandrill_request(events: object, url: str = MANDRILL_URL) -> WebhookRequest:
    """Return Mandrill's form POST: ``mandrill_events`` = the events as JSON."""
    body = urlencode({"mandrill_events": json.dumps(events)}).encode()
    form = "application/x-www-form-urlencoded"
    return WebhookRequest(body, {"content-type": form}, form, url)


def with_header(request: WebhookRequest, name: str, value: str) -> WebhookRequest:
    return replace(request, headers={**request.headers, name.lower(): value})


def stored_sample(provider: str, name: str) -> StoredRequest:
    """Return a saved sample as the inbox keeps it (Mandrill's inside its form body)."""
    if provider == "mandrill":
        return mandrill_request(sample(provider, name)).stored(())
    return StoredRequest(sample_bytes(provider, name), "application/json")


def parse_sample(provider: Provider, name: str) -> ParsedBody:
    return provider.parse(stored_sample(provider.name, name))


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


def assert_fields(event: EmailEvent, expected: Mapping[str, object]) -> None:
    """Assert each named field of ``event``, reporting every mismatch at once."""
    actual = {name: getattr(event, name) for name in expected}
    assert actual == dict(expected)
    assert event.kind is (
        EventKind.DELIVERY_REPORT if event.event_type in DELIVERY_TYPES else EventKind.TRACKING
    )


# --- a real HTTP server (SNS certificates and confirmations) ------------------------------


def url_fetch(url: str) -> bytes:
    """GET ``url`` with a timeout (the test's stand-in for the lead's production fetch)."""
    with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as response:
        body: bytes = response.read()
    return body


@dataclass
class LocalServer:
    """A real HTTP server on 127.0.0.1 that answers GETs from ``routes`` and records paths."""

    routes: dict[str, bytes] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"


@contextmanager
def local_server(routes: Mapping[str, bytes] | None = None) -> Iterator[LocalServer]:
    """Run a :class:`LocalServer` in a thread for the duration of the block."""
    state = LocalServer(routes=dict(routes or {}))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            body = state.routes.get(self.path.partition("?")[0])
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, format: str, *args: Any) -> None:
            del format, args  # keep the test output quiet

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    # shutdown() waits for serve_forever's next poll: 0.5 s by default, at every teardown
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --- signers ------------------------------------------------------------------------------


def _public_der_base64(key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey) -> str:
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


#: what SNS signs, per message type, written here from AWS's "Verifying the signatures of
#: Amazon SNS messages" (not imported from the code under test, so a slip there shows)
_SNS_SIGNED = {
    "Notification": ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"],
    "SubscriptionConfirmation": [
        "Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type",
    ],
}  # fmt: skip
_SNS_SIGNED["UnsubscribeConfirmation"] = _SNS_SIGNED["SubscriptionConfirmation"]


class SnsSigner:
    """An RSA key and a self-signed certificate, signing SNS envelopes as SNS does."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.test.amazonaws.com")])
        now = datetime.now(UTC)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .sign(self.key, hashes.SHA256())
        )

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def sign(self, message: Mapping[str, Any], cert_url: str, version: str = "1") -> dict[str, Any]:
        """Return ``message`` with SigningCertURL, SignatureVersion and Signature set."""
        signed = {**message, "SigningCertURL": cert_url, "SignatureVersion": version}
        fields = _SNS_SIGNED[str(signed["Type"])]
        canonical = "".join(f"{k}\n{signed[k]}\n" for k in fields if signed.get(k) is not None)
        digest = hashes.SHA1() if version == "1" else hashes.SHA256()
        signature = self.key.sign(canonical.encode(), padding.PKCS1v15(), digest)
        signed["Signature"] = base64.b64encode(signature).decode()
        return signed


class SendGridSigner:
    """An ECDSA P-256 key pair; the public half as SendGrid shows it (base64 DER)."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())

    @property
    def public_key(self) -> str:
        return _public_der_base64(self.key.public_key())

    def headers(self, body: bytes, timestamp: int) -> dict[str, str]:
        signature = self.key.sign(str(timestamp).encode() + body, ec.ECDSA(hashes.SHA256()))
        return {
            "x-twilio-email-event-webhook-signature": base64.b64encode(signature).decode(),
            "x-twilio-email-event-webhook-timestamp": str(timestamp),
        }


@dataclass(frozen=True)
class RsaSigner:
    """A Postal server's signing key, made by the test."""

    key: rsa.RSAPrivateKey

    @classmethod
    def new(cls) -> RsaSigner:
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=2048))

    def public_der_base64(self) -> str:
        """The public key as Postal's UI shows it: base64 DER SubjectPublicKeyInfo."""
        return _public_der_base64(self.key.public_key())

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


def mailgun_signature(key: str, timestamp: str, token: str) -> dict[str, str]:
    """Return Mailgun's signature block for ``timestamp`` and ``token``."""
    digest = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {"timestamp": timestamp, "token": token, "signature": digest}


def urlencoded(fields: Mapping[str, Any]) -> bytes:
    """Encode form fields (a list value is a repeated field) as Mailgun's legacy posts."""
    return urlencode(list(_pairs(fields))).encode()


def multipart(fields: Mapping[str, Any]) -> tuple[bytes, str]:
    """Encode form fields as multipart/form-data the way browsers and HTTP clients write it;
    return the body and its Content-Type."""
    boundary = "----emailhook" + secrets.token_hex(8)
    chunks = []
    for name, value in _pairs(fields):
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
        )
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def _pairs(fields: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            yield name, str(item)


def svix_secret(raw: bytes) -> str:
    """Return a Svix signing secret for ``raw`` key bytes."""
    return "whsec_" + base64.b64encode(raw).decode()


def svix_headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Return Svix's headers signing ``body`` under ``secret``."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    signature = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return {
        "svix-id": msg_id,
        "svix-timestamp": str(timestamp),
        "svix-signature": f"v1,{signature}",
    }


def basic(pair: str) -> str:
    """Return an HTTP Basic Authorization value for ``user:password``."""
    return "Basic " + base64.b64encode(pair.encode()).decode()


def basic_header(pair: str) -> dict[str, str]:
    """Return an HTTP Basic Authorization header for ``user:password``."""
    return {"authorization": basic(pair)}


def mandrill_signature(key: str, request: WebhookRequest) -> str:
    """Mandrill's documented scheme: base64 HMAC-SHA1 of URL + sorted POST keys and values."""
    fields = dict(parse_qsl(request.body.decode(), keep_blank_values=True))
    signed = request.url + "".join(k + fields[k] for k in sorted(fields))
    return base64.b64encode(hmac.new(key.encode(), signed.encode(), hashlib.sha1).digest()).decode()


def mailersend_signature(secret: str, body: bytes) -> str:
    """MailerSend's ``Signature``: hex HMAC-SHA256 of the raw body."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def unisender_signed(data: Mapping[str, Any], api_key: str, **dumps: Any) -> bytes:
    """Return ``data`` as Unisender Go sends it: ``auth`` = MD5 of the body serialized with
    the API key in place of ``auth``'s value (anymail's test recipe)."""
    body = json.dumps({**data, "auth": _PLACEHOLDER}, **dumps)
    digest = hashlib.md5(body.replace(_PLACEHOLDER, api_key).encode()).hexdigest()
    return body.replace(_PLACEHOLDER, digest).encode()
