"""Every provider lets in its own signature or credential, and only that: written once, run
for all twelve (Brevo twice: HTTP Basic and bearer), anymail's security test cases.

A case knows how the provider is configured with a list of secrets and how its sender proves
itself; the tests are the same for all: the current credential passes (and the body parses),
the second of a rotation list passes as well as the first; a request without credentials,
with someone else's, with one rotated out, or under an empty list is refused; where the proof
covers the body, a body changed after signing is refused; where it carries a timestamp, a
stale or future one is refused.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes

from emailhook.providers.amazon_ses.webhook import AmazonSES
from emailhook.providers.base import AuthenticationError, Provider, WebhookRequest
from emailhook.providers.brevo.webhook import Brevo
from emailhook.providers.mailersend.webhook import MailerSend
from emailhook.providers.mailgun.webhook import Mailgun
from emailhook.providers.mailjet.webhook import Mailjet
from emailhook.providers.mandrill.webhook import Mandrill
from emailhook.providers.postal.webhook import Postal
from emailhook.providers.postmark.webhook import Postmark
from emailhook.providers.resend.webhook import Resend
from emailhook.providers.sendgrid.webhook import SendGrid
from emailhook.providers.sparkpost.webhook import SparkPost
from emailhook.providers.unisender_go.webhook import UnisenderGo
from support.signing import (
    LocalServer,
    RsaSigner,
    SendGridSigner,
    SnsSigner,
    basic,
    json_request,
    local_server,
    mailersend_signature,
    mailgun_signature,
    mandrill_request,
    mandrill_signature,
    provider_values,
    sample,
    sample_bytes,
    svix_headers,
    svix_secret,
    unisender_signed,
    url_fetch,
    with_header,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CERT_PATH = "/SimpleNotificationService-security.pem"
TOPIC = "arn:aws:sns:us-east-1:1234567890:SES_Events"
SNS = SnsSigner()

#: how a sender attaches its proof to a request, signed at a given time
Attach = Callable[[WebhookRequest, datetime], WebhookRequest]


@dataclass(frozen=True)
class Credential:
    """One credential: the value set in the provider's setting, and how a sender attaches it."""

    setting: str
    attach: Attach


@dataclass(frozen=True)
class Case:
    """One provider's scheme: its setting, its credentials, an unsigned sample request."""

    provider: type[Provider]
    setting: str
    credential: Callable[[], Credential]
    #: a request as the provider sends it, without the proof (SNS's own signature is on it)
    request: Callable[[LocalServer], WebhookRequest]
    #: the proof carries a timestamp checked against a freshness window
    fresh_window: bool = False
    #: the proof covers the body
    body_signed: bool = False
    #: an empty list lets nothing in (SNS without basic_auth relies on its signature alone,
    #: covered in test_amazon_ses)
    needs_a_secret: bool = True


def _basic() -> Credential:
    pair = f"hook-{secrets.token_hex(4)}:{secrets.token_urlsafe(16)}"
    return Credential(pair, lambda r, at: with_header(r, "authorization", basic(pair)))


def _bearer() -> Credential:
    token = secrets.token_urlsafe(24)
    return Credential(token, lambda r, at: with_header(r, "authorization", f"Bearer {token}"))


def _sendgrid() -> Credential:
    signer = SendGridSigner()

    def attach(request: WebhookRequest, at: datetime) -> WebhookRequest:
        headers = signer.headers(request.body, int(at.timestamp()))
        return replace(request, headers={**request.headers, **headers})

    return Credential(signer.public_key, attach)


def _mailgun() -> Credential:
    key = "key-" + secrets.token_hex(16)

    def attach(request: WebhookRequest, at: datetime) -> WebhookRequest:
        body = json.loads(request.body)
        # a fresh token each time: the replay cache is tested in test_mailgun
        body["signature"] = mailgun_signature(key, str(int(at.timestamp())), secrets.token_hex(25))
        return replace(request, body=json.dumps(body).encode())

    return Credential(key, attach)


def _svix() -> Credential:
    secret = svix_secret(secrets.token_bytes(24))

    def attach(request: WebhookRequest, at: datetime) -> WebhookRequest:
        msg_id = "msg_" + secrets.token_hex(8)
        headers = svix_headers(secret, msg_id, int(at.timestamp()), request.body)
        return replace(request, headers={**request.headers, **headers})

    return Credential(secret, attach)


def _mandrill() -> Credential:
    key = secrets.token_urlsafe(16)
    return Credential(
        key, lambda r, at: with_header(r, "x-mandrill-signature", mandrill_signature(key, r))
    )


def _mailersend() -> Credential:
    secret = secrets.token_urlsafe(24)
    return Credential(
        secret,
        lambda r, at: with_header(r, "signature", mailersend_signature(secret, r.body)),
    )


def _postal() -> Credential:
    signer = RsaSigner.new()

    def attach(request: WebhookRequest, at: datetime) -> WebhookRequest:
        signature = signer.sign(request.body, hashes.SHA256())
        return with_header(request, "x-postal-signature-256", signature)

    return Credential(signer.public_der_base64(), attach)


def _unisender() -> Credential:
    api_key = secrets.token_hex(16)

    def attach(request: WebhookRequest, at: datetime) -> WebhookRequest:
        data = json.loads(request.body)
        data.pop("auth", None)
        return replace(request, body=unisender_signed(data, api_key))

    return Credential(api_key, attach)


def _json_sample(provider: str, name: str) -> Callable[[LocalServer], WebhookRequest]:
    return lambda _: json_request(json.dumps(sample(provider, name)).encode())


def _bytes_sample(
    provider: str, headers: dict[str, str] | None = None
) -> Callable[[LocalServer], WebhookRequest]:
    body = sample_bytes(provider, "delivered_event")
    return lambda _: WebhookRequest(body, dict(headers or {}), "application/json", "https://h/")


def _mailgun_request(_: LocalServer) -> WebhookRequest:
    body = sample("mailgun", "delivered_event")
    body.pop("signature", None)
    return WebhookRequest(json.dumps(body).encode(), {}, "application/json", "https://h/")


def _sns_request(server: LocalServer) -> WebhookRequest:
    message = {
        "Type": "Notification",
        "MessageId": secrets.token_hex(16),
        "TopicArn": TOPIC,
        "Message": json.dumps(sample("amazon_ses", "delivery_event")),
        "Timestamp": "2018-03-26T17:58:59.675Z",
    }
    signed = SNS.sign(message, server.url(CERT_PATH), "2")
    return WebhookRequest(json.dumps(signed).encode(), {}, "text/plain", "https://h/")


CASES: dict[str, Case] = {
    # the SNS signature is on every request; the listed secret is the optional HTTP Basic pair
    "amazon_ses": Case(
        AmazonSES, "basic_auth", _basic, _sns_request, body_signed=True, needs_a_secret=False
    ),
    "sendgrid": Case(
        SendGrid,
        "public_keys",
        _sendgrid,
        _bytes_sample("sendgrid"),
        fresh_window=True,
        body_signed=True,
    ),
    # Mailgun signs timestamp + token only, never the body
    "mailgun": Case(Mailgun, "signing_keys", _mailgun, _mailgun_request, fresh_window=True),
    "postmark": Case(Postmark, "basic_auth", _basic, _bytes_sample("postmark")),
    "resend": Case(
        Resend,
        "signing_secrets",
        _svix,
        _bytes_sample("resend", {"svix-id": "msg_1"}),
        fresh_window=True,
        body_signed=True,
    ),
    "sparkpost": Case(SparkPost, "basic_auth", _basic, _json_sample("sparkpost", "bounce_event")),
    "mailjet": Case(Mailjet, "basic_auth", _basic, _json_sample("mailjet", "sent_event")),
    "mandrill": Case(
        Mandrill,
        "webhook_keys",
        _mandrill,
        lambda _: mandrill_request(sample("mandrill", "send_event")),
        body_signed=True,
    ),
    "brevo-basic": Case(Brevo, "basic_auth", _basic, _json_sample("brevo", "hard_bounce")),
    "brevo-bearer": Case(Brevo, "bearer_tokens", _bearer, _json_sample("brevo", "hard_bounce")),
    "postal": Case(
        Postal,
        "public_keys",
        _postal,
        _json_sample("postal", "delivered_event"),
        body_signed=True,
    ),
    "mailersend": Case(
        MailerSend,
        "signing_secrets",
        _mailersend,
        _json_sample("mailersend", "hard_bounced_event"),
        body_signed=True,
    ),
    "unisender_go": Case(
        UnisenderGo,
        "api_keys",
        _unisender,
        _json_sample("unisender_go", "multiple_event_option"),
        body_signed=True,
    ),
}
NAMES = sorted(CASES)
FRESH = [name for name in NAMES if CASES[name].fresh_window]


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with local_server({CERT_PATH: SNS.pem}) as running:
        yield running


@dataclass
class Setup:
    """A case made concrete: new credentials, providers listing some, unsigned requests."""

    case: Case
    server: LocalServer

    def credential(self) -> Credential:
        return self.case.credential()

    def provider(self, *credentials: Credential) -> Provider:
        given: dict[str, Any] = {self.case.setting: [c.setting for c in credentials]}
        if self.case.provider is AmazonSES:
            given["topic_arns"] = [TOPIC]
            given["cert_url_pattern"] = "^" + re.escape(self.server.base_url) + "/"
        return self.case.provider(provider_values(self.case.provider, **given), fetch=url_fetch)

    def request(self) -> WebhookRequest:
        return self.case.request(self.server)

    def signed(self, credential: Credential, at: datetime = NOW) -> WebhookRequest:
        return credential.attach(self.request(), at)


@pytest.fixture
def setup(request: pytest.FixtureRequest, server: LocalServer) -> Setup:
    return Setup(CASES[request.param], server)


@pytest.mark.parametrize("setup", NAMES, indirect=True)
def test_the_configured_credential_passes_and_the_body_parses(setup: Setup) -> None:
    current = setup.credential()
    provider = setup.provider(current)
    signed = setup.signed(current)
    provider.authenticate(signed, NOW)
    assert provider.check_body(signed).events >= 1


@pytest.mark.parametrize("setup", NAMES, indirect=True)
def test_a_request_without_credentials_is_refused(setup: Setup) -> None:
    provider = setup.provider(setup.credential())
    with pytest.raises(AuthenticationError):
        provider.authenticate(setup.request(), NOW)


@pytest.mark.parametrize("setup", NAMES, indirect=True)
def test_a_credential_of_someone_else_is_refused(setup: Setup) -> None:
    provider = setup.provider(setup.credential())
    with pytest.raises(AuthenticationError):
        provider.authenticate(setup.signed(setup.credential()), NOW)


@pytest.mark.parametrize("setup", NAMES, indirect=True)
def test_a_stale_credential_rotated_out_is_refused(setup: Setup) -> None:
    # "stale" here is a credential that was valid before the rotation finished: the old
    # secret, dropped from the list (timestamps are the freshness tests' business)
    old, new = setup.credential(), setup.credential()
    setup.provider(old, new).authenticate(setup.signed(old), NOW)
    with pytest.raises(AuthenticationError):
        setup.provider(new).authenticate(setup.signed(old), NOW)


@pytest.mark.parametrize("setup", NAMES, indirect=True)
def test_both_secrets_of_a_rotation_list_pass(setup: Setup) -> None:
    old, new = setup.credential(), setup.credential()
    provider = setup.provider(old, new)
    provider.authenticate(setup.signed(new), NOW)
    provider.authenticate(setup.signed(old), NOW)


@pytest.mark.parametrize(
    "setup", [name for name in NAMES if CASES[name].needs_a_secret], indirect=True
)
def test_an_empty_credential_list_refuses_everything(setup: Setup) -> None:
    with pytest.raises(AuthenticationError):
        setup.provider().authenticate(setup.signed(setup.credential()), NOW)


@pytest.mark.parametrize(
    "setup", [name for name in NAMES if CASES[name].body_signed], indirect=True
)
def test_a_body_changed_after_signing_is_refused(setup: Setup) -> None:
    current = setup.credential()
    provider = setup.provider(current)
    signed = setup.signed(current)
    tampered = signed.body.replace(b"example.com", b"example.org", 1)
    assert tampered != signed.body
    with pytest.raises(AuthenticationError):
        provider.authenticate(replace(signed, body=tampered), NOW)


@pytest.mark.parametrize("setup", FRESH, indirect=True)
@pytest.mark.parametrize("offset", [timedelta(hours=-1), timedelta(hours=1)])
def test_a_stale_or_future_signature_fails(setup: Setup, offset: timedelta) -> None:
    current = setup.credential()
    with pytest.raises(AuthenticationError):
        setup.provider(current).authenticate(setup.signed(current, NOW + offset), NOW)


@pytest.mark.parametrize("setup", FRESH, indirect=True)
def test_a_signature_just_inside_the_window_passes(setup: Setup) -> None:
    current = setup.credential()
    request = setup.signed(current, NOW - timedelta(seconds=250))  # every window is >= 300 s
    setup.provider(current).authenticate(request, NOW)
