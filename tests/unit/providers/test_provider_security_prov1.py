"""Every prov1 provider lets in its own signature or credential, and only that: written once,
run for Amazon SES, SendGrid, Mailgun, Postmark and Resend (anymail's security test cases).

A harness per provider knows how the sender proves itself; the tests are the same for all:
valid passes, missing / wrong / stale fails with AuthenticationError, and the second secret of
a list (rotation) passes as well as the first.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest

from emailhook.providers.amazon_ses import AmazonSES
from emailhook.providers.base import AuthenticationError, Provider, WebhookRequest
from emailhook.providers.mailgun import Mailgun
from emailhook.providers.postmark import Postmark
from emailhook.providers.resend import Resend
from emailhook.providers.sendgrid import SendGrid
from support.signing_prov1 import (
    LocalServer,
    SendGridSigner,
    SnsSigner,
    basic_header,
    local_server,
    mailgun_signature,
    sample,
    sample_bytes,
    svix_headers,
    svix_secret,
    url_fetch,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CERT_PATH = "/SimpleNotificationService-security.pem"
TOPIC = "arn:aws:sns:us-east-1:1234567890:SES_Events"


class Harness:
    """How one provider is configured with a list of secrets and how its sender signs."""

    #: whether the scheme has a freshness window (SNS and HTTP Basic have none)
    fresh_window: ClassVar[bool] = True

    def secret(self) -> Any:
        """Return a new secret: what signs (a key object or a string)."""
        raise NotImplementedError

    def provider(self, *secrets_: Any) -> Provider:
        raise NotImplementedError

    def signed(self, secret: Any, at: datetime) -> WebhookRequest:
        raise NotImplementedError

    def without_proof(self, at: datetime) -> WebhookRequest:
        raise NotImplementedError


class SendGridHarness(Harness):
    def secret(self) -> SendGridSigner:
        return SendGridSigner()

    def provider(self, *secrets_: SendGridSigner) -> Provider:
        return SendGrid({"public_keys": tuple(s.public_key for s in secrets_)})

    def signed(self, secret: SendGridSigner, at: datetime) -> WebhookRequest:
        body = sample_bytes("sendgrid", "delivered_event")
        headers = secret.headers(body, int(at.timestamp()))
        return WebhookRequest(body, headers, "application/json", "https://hooks/sendgrid")

    def without_proof(self, at: datetime) -> WebhookRequest:
        body = sample_bytes("sendgrid", "delivered_event")
        return WebhookRequest(body, {}, "application/json", "https://hooks/sendgrid")


class MailgunHarness(Harness):
    def secret(self) -> str:
        return "key-" + secrets.token_hex(16)

    def provider(self, *secrets_: str) -> Provider:
        return Mailgun({"signing_keys": secrets_})

    def signed(self, secret: str, at: datetime) -> WebhookRequest:
        body = sample("mailgun", "delivered_event")
        # a fresh token each time: the replay cache is tested in test_mailgun
        token = secrets.token_hex(25)
        body["signature"] = mailgun_signature(secret, str(int(at.timestamp())), token)
        return WebhookRequest(json.dumps(body).encode(), {}, "application/json", "https://h/")

    def without_proof(self, at: datetime) -> WebhookRequest:
        body = sample("mailgun", "delivered_event")
        body.pop("signature", None)
        return WebhookRequest(json.dumps(body).encode(), {}, "application/json", "https://h/")


class PostmarkHarness(Harness):
    fresh_window = False

    def secret(self) -> str:
        return f"postmark:{secrets.token_urlsafe(12)}"

    def provider(self, *secrets_: str) -> Provider:
        return Postmark({"basic_auth": secrets_})

    def signed(self, secret: str, at: datetime) -> WebhookRequest:
        body = sample_bytes("postmark", "delivered_event")
        return WebhookRequest(body, basic_header(secret), "application/json", "https://h/")

    def without_proof(self, at: datetime) -> WebhookRequest:
        body = sample_bytes("postmark", "delivered_event")
        return WebhookRequest(body, {}, "application/json", "https://h/")


class ResendHarness(Harness):
    def secret(self) -> str:
        return svix_secret(secrets.token_bytes(24))

    def provider(self, *secrets_: str) -> Provider:
        return Resend({"signing_secrets": secrets_})

    def signed(self, secret: str, at: datetime) -> WebhookRequest:
        body = sample_bytes("resend", "delivered_event")
        headers = svix_headers(secret, "msg_" + secrets.token_hex(8), int(at.timestamp()), body)
        return WebhookRequest(body, headers, "application/json", "https://h/")

    def without_proof(self, at: datetime) -> WebhookRequest:
        body = sample_bytes("resend", "delivered_event")
        return WebhookRequest(body, {"svix-id": "msg_1"}, "application/json", "https://h/")


class AmazonSESHarness(Harness):
    """SNS's proof is its signature; the listed secret is the optional HTTP Basic pair."""

    fresh_window = False
    signer = SnsSigner()

    def __init__(self, server: LocalServer) -> None:
        self.server = server
        server.routes[CERT_PATH] = self.signer.pem

    def secret(self) -> str:
        return f"sns:{secrets.token_urlsafe(12)}"

    def provider(self, *secrets_: str) -> Provider:
        pattern = "^" + re.escape(self.server.base_url) + "/"
        values = {"topic_arns": (TOPIC,), "cert_url_pattern": pattern, "basic_auth": secrets_}
        return AmazonSES(values, fetch=url_fetch)

    def _message(self) -> dict[str, Any]:
        record = sample("amazon_ses", "delivery_event")
        message = {
            "Type": "Notification",
            "MessageId": secrets.token_hex(16),
            "TopicArn": TOPIC,
            "Message": json.dumps(record),
            "Timestamp": "2018-03-26T17:58:59.675Z",
        }
        return self.signer.sign(message, self.server.url(CERT_PATH), "2")

    def signed(self, secret: str, at: datetime) -> WebhookRequest:
        body = json.dumps(self._message()).encode()
        return WebhookRequest(body, basic_header(secret), "text/plain", "https://h/")

    def without_proof(self, at: datetime) -> WebhookRequest:
        body = json.dumps(self._message()).encode()
        return WebhookRequest(body, {}, "text/plain", "https://h/")


NAMES = ["amazon_ses", "sendgrid", "mailgun", "postmark", "resend"]
FRESH = ["sendgrid", "mailgun", "resend"]


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with local_server() as running:
        yield running


@pytest.fixture
def harness(request: pytest.FixtureRequest, server: LocalServer) -> Harness:
    name = request.param
    if name == "amazon_ses":
        return AmazonSESHarness(server)
    classes: dict[str, type[Harness]] = {
        "sendgrid": SendGridHarness,
        "mailgun": MailgunHarness,
        "postmark": PostmarkHarness,
        "resend": ResendHarness,
    }
    return classes[name]()


@pytest.mark.parametrize("harness", NAMES, indirect=True)
def test_a_valid_signature_passes(harness: Harness) -> None:
    secret = harness.secret()
    harness.provider(secret).authenticate(harness.signed(secret, NOW), NOW)


@pytest.mark.parametrize("harness", NAMES, indirect=True)
def test_a_missing_signature_fails(harness: Harness) -> None:
    provider = harness.provider(harness.secret())
    with pytest.raises(AuthenticationError):
        provider.authenticate(harness.without_proof(NOW), NOW)


@pytest.mark.parametrize("harness", NAMES, indirect=True)
def test_a_signature_by_another_secret_fails(harness: Harness) -> None:
    provider = harness.provider(harness.secret())
    with pytest.raises(AuthenticationError):
        provider.authenticate(harness.signed(harness.secret(), NOW), NOW)


#: SNS without basic_auth relies on its signature alone (covered in test_amazon_ses)
@pytest.mark.parametrize("harness", [name for name in NAMES if name != "amazon_ses"], indirect=True)
def test_no_secret_configured_lets_nothing_in(harness: Harness) -> None:
    with pytest.raises(AuthenticationError):
        harness.provider().authenticate(harness.signed(harness.secret(), NOW), NOW)


@pytest.mark.parametrize("harness", FRESH, indirect=True)
@pytest.mark.parametrize("offset", [timedelta(hours=-1), timedelta(hours=1)])
def test_a_stale_or_future_signature_fails(harness: Harness, offset: timedelta) -> None:
    secret = harness.secret()
    with pytest.raises(AuthenticationError):
        harness.provider(secret).authenticate(harness.signed(secret, NOW + offset), NOW)


@pytest.mark.parametrize("harness", FRESH, indirect=True)
def test_a_signature_just_inside_the_window_passes(harness: Harness) -> None:
    secret = harness.secret()
    request = harness.signed(secret, NOW - timedelta(seconds=250))  # every window is >= 300 s
    harness.provider(secret).authenticate(request, NOW)


@pytest.mark.parametrize("harness", NAMES, indirect=True)
def test_both_secrets_of_a_rotation_pass(harness: Harness) -> None:
    old, new = harness.secret(), harness.secret()
    provider = harness.provider(old, new)
    provider.authenticate(harness.signed(new, NOW), NOW)
    provider.authenticate(harness.signed(old, NOW), NOW)
