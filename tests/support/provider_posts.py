"""Signed webhook posts of every provider, as each provider's sender makes them, with keys and
credentials made here: one object holds them all and the settings that trust them.

Built on the per-provider signers (``signing_prov1``: SNS, SendGrid, Mailgun, Svix, Basic;
``signing_prov2``: Mandrill, Postal, MailerSend, Unisender Go, Basic, bearer); every post
carries a real sample payload from ``tests/data/providers`` (SES records wrapped in the SNS
envelope SNS sends them in).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import hashes

from support.signing import (
    MANDRILL_URL,
    RsaSigner,
    SendGridSigner,
    SnsSigner,
    mailgun_signature,
    mandrill_request,
    mandrill_signature,
    sample,
    sample_bytes,
    svix_headers,
    svix_secret,
    unisender_signed,
    urlencoded,
)

#: the SNS topic the posts come from, and the path the local server serves the certificate at
TOPIC = "arn:aws:sns:us-east-1:123456789012:emailhook-ses-events"
FOREIGN_TOPIC = "arn:aws:sns:us-east-1:999999999999:someone-elses"
CERT_PATH = "/SimpleNotificationService-emailhook-test.pem"
CONFIRM_PATH = "/confirm"

#: the twelve providers beside Infobip
PROVIDER_NAMES = (
    "amazon_ses",
    "sendgrid",
    "mailgun",
    "postmark",
    "resend",
    "sparkpost",
    "mailjet",
    "mandrill",
    "brevo",
    "postal",
    "mailersend",
    "unisender_go",
)


@dataclass(frozen=True)
class Post:
    """One HTTP request as the provider sends it."""

    provider: str
    body: bytes
    headers: dict[str, str]

    @property
    def path(self) -> str:
        return f"/webhooks/{self.provider}"


def _basic_pair(provider: str) -> str:
    return f"{provider}-hook:{secrets.token_urlsafe(12)}"


def _basic(pair: str) -> str:
    return "Basic " + base64.b64encode(pair.encode()).decode()


@dataclass
class Senders:
    """Credentials for every provider; ``settings()`` trusts them, ``post()`` signs with them.

    ``cert_base_url`` is the local HTTP server that serves the SNS certificate (``CERT_PATH``)
    and answers subscription confirmations (``CONFIRM_PATH``).
    """

    cert_base_url: str
    sns: SnsSigner = field(default_factory=SnsSigner)
    sendgrid: SendGridSigner = field(default_factory=SendGridSigner)
    postal: RsaSigner = field(default_factory=RsaSigner.new)
    mailgun_key: str = field(default_factory=lambda: secrets.token_hex(16))
    resend_secret: str = field(default_factory=lambda: svix_secret(secrets.token_bytes(24)))
    mandrill_key: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    mailersend_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    unisender_key: str = field(default_factory=lambda: secrets.token_hex(16))
    mailgun_time: datetime = field(default_factory=lambda: datetime.now(UTC))
    pairs: dict[str, str] = field(
        default_factory=lambda: {
            name: _basic_pair(name) for name in ("postmark", "sparkpost", "mailjet", "brevo")
        }
    )

    @property
    def cert_url(self) -> str:
        return self.cert_base_url + CERT_PATH

    def routes(self) -> dict[str, bytes]:
        """What the local SNS stand-in serves."""
        return {CERT_PATH: self.sns.pem, CONFIRM_PATH: b"<ConfirmSubscriptionResponse/>"}

    def settings(self) -> dict[str, Any]:
        """Settings fields (``<provider>_<setting>``) that enable all twelve providers."""
        port_pattern = "^" + self.cert_base_url.replace(".", r"\.") + "/"
        return {
            "amazon_ses_topic_arns": (TOPIC,),
            "amazon_ses_cert_url_pattern": port_pattern,
            "sendgrid_public_keys": (self.sendgrid.public_key,),
            "mailgun_signing_keys": (self.mailgun_key,),
            "postmark_basic_auth": (self.pairs["postmark"],),
            "resend_signing_secrets": (self.resend_secret,),
            "sparkpost_basic_auth": (self.pairs["sparkpost"],),
            "mailjet_basic_auth": (self.pairs["mailjet"],),
            "mandrill_webhook_keys": (self.mandrill_key,),
            "mandrill_webhook_url": MANDRILL_URL,
            "brevo_basic_auth": (self.pairs["brevo"],),
            "postal_public_keys": (self.postal.public_der_base64(),),
            "mailersend_signing_secrets": (self.mailersend_secret,),
            "unisender_go_api_keys": (self.unisender_key,),
        }

    def env(self) -> dict[str, str]:
        """The same settings as environment variables (for a real server's processes)."""
        variables = {}
        for name, value in self.settings().items():
            text = json.dumps(list(value)) if isinstance(value, tuple) else str(value)
            variables[f"EMAILHOOK_{name.upper()}"] = text
        return variables

    def post(
        self, provider: str, name: str, *, now: datetime | None = None, data: Any = None
    ) -> Post:
        """Return sample ``name`` of ``provider`` (or ``data`` in its stead, decoded), signed
        as its sender signs it ``now``."""
        at = now or datetime.now(UTC)
        if provider == "amazon_ses":
            return self.sns_post(self.ses_envelope(name, record=data))
        if provider == "mandrill":
            request = mandrill_request(sample("mandrill", name) if data is None else data)
            signature = mandrill_signature(self.mandrill_key, request)
            headers = {"content-type": request.content_type, "x-mandrill-signature": signature}
            return Post(provider, request.body, headers)
        if provider == "mailgun":
            return self._mailgun(name, now or self.mailgun_time, data)
        if provider == "unisender_go":
            data = dict(sample("unisender_go", name) if data is None else data)
            data.pop("auth", None)
            body = unisender_signed(data, self.unisender_key)
            return Post(provider, body, {"content-type": "application/json"})
        body = sample_bytes(provider, name) if data is None else json.dumps(data).encode()
        return Post(
            provider,
            body,
            {"content-type": "application/json", **self.proof(provider, name, body, at)},
        )

    def proof(self, provider: str, name: str, body: bytes, at: datetime) -> dict[str, str]:
        if provider == "sendgrid":
            return self.sendgrid.headers(body, int(at.timestamp()))
        if provider == "resend":
            # svix-id is stable across Svix's retries of one message: one per sample here
            return svix_headers(self.resend_secret, f"msg_{name}", int(at.timestamp()), body)
        if provider == "postal":
            return {"x-postal-signature-256": self.postal.sign(body, hashes.SHA256())}
        if provider == "mailersend":
            digest = hmac.new(self.mailersend_secret.encode(), body, hashlib.sha256).hexdigest()
            return {"signature": digest}
        return {"authorization": _basic(self.pairs[provider])}

    def _mailgun(self, name: str, at: datetime, data: Any = None) -> Post:
        data = sample("mailgun", name) if data is None else data
        # a fresh token each post: Mailgun's signature does not cover the body, so a token
        # comes with one body only within the window (another body is a replay)
        signature = mailgun_signature(
            self.mailgun_key, str(int(at.timestamp())), secrets.token_hex(25)
        )
        if "event-data" in data:
            body = json.dumps({**data, "signature": signature}).encode()
            return Post("mailgun", body, {"content-type": "application/json"})
        body = urlencoded({**data, **signature})
        return Post("mailgun", body, {"content-type": "application/x-www-form-urlencoded"})

    def ses_envelope(self, name: str, topic: str = TOPIC, *, record: Any = None) -> dict[str, Any]:
        """Return an SES sample (or ``record``) as SNS delivers it: a Notification
        (confirmations as saved)."""
        record = sample("amazon_ses", name) if record is None else record
        if record.get("Type") in ("SubscriptionConfirmation", "UnsubscribeConfirmation"):
            return {
                **record,
                "TopicArn": topic,
                "SubscribeURL": self.cert_base_url + CONFIRM_PATH,
            }
        if record.get("Type") == "Notification":  # saved as SNS sent it (SES's validation)
            return {**record, "TopicArn": topic}
        return {
            "Type": "Notification",
            # stable per sample: SNS sends a retry with the same MessageId
            "MessageId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"emailhook-test/{name}")),
            "TopicArn": topic,
            "Subject": "Amazon SES Email Event Notification",
            "Message": json.dumps(record),
            "Timestamp": "2026-12-01T12:00:00.000Z",
        }

    def sns_post(self, envelope: dict[str, Any]) -> Post:
        signed = self.sns.sign(envelope, self.cert_url)
        headers = {
            "content-type": "text/plain; charset=UTF-8",
            "x-amz-sns-message-type": str(signed["Type"]),
            "x-amz-sns-message-id": str(signed["MessageId"]),
        }
        return Post("amazon_ses", json.dumps(signed).encode(), headers)


__all__ = ["MANDRILL_URL", "PROVIDER_NAMES", "Post", "Senders"]
