"""Amazon SES's send side (API v2, REST-JSON): ``SendEmail`` and ``SendBulkEmail``, signed
with AWS Signature Version 4 by botocore's own signer.

Sources (``shared/docs/sending-anchors.md`` §2, botocore's model of the API
``sesv2/2019-09-27/service-2.json``, and the fake in ``tests/support/fake_senders/amazon_ses.py``
that checks every field against that model): ``POST /v2/email/outbound-emails`` sends one
message (``Simple`` content: subject, text, html, up to 15 headers, attachments) and answers
``{"MessageId"}``; ``POST /v2/email/outbound-bulk-emails`` sends up to 50 entries of one stored
template (a template is required) and answers one ``BulkEmailEntryResult`` per entry, in
order (``SUCCESS`` with its ``MessageId``, or a status such as ``MESSAGE_REJECTED`` or
``ACCOUNT_THROTTLED``). Errors carry their code in ``x-amzn-ErrorType`` and their words in the
body's ``message``; throttling is ``TooManyRequestsException`` (HTTP 429, no Retry-After).

Our id (``emailhook_id``) travels as an SES message tag (``EmailTags``, a bulk entry's
``ReplacementTags``), which SES echoes in every event's ``mail.tags`` when the configuration
set publishes events (``events.py`` reads it there); our metadata travels in an
``X-Metadata`` JSON header (anymail's convention, read by ``events.py`` from ``mail.headers``),
because tag values take only ASCII letters, digits, ``_`` and ``-``. SES's ``MessageId`` is
every event's ``mail.messageId``: the join's fallback. Plain tags have no place in SES (its
tags are name=value pairs, taken by our id): refused on accept. SES has no idempotency key and
no lookup by our id: an ambiguous failure is never resent (``NONE``).

Why a signed HTTP request here and not boto3's ``sesv2`` client in ``adapters/``: the request
stays one :class:`HttpRequest`, so the dispatcher's one HTTP transport sorts a failure into
never-sent and ambiguous, and a 429 slows the account's shared bucket, as for every other
provider; a boto3 client would retry on its own (timeouts and 5xx included: the blind resend
the outbox exists to prevent) unless told not to, and would need its own error sorting and
pacing. botocore's ``SigV4Auth`` computes the signature (no hand-written crypto); the one
impure input, the time of signing, is the ``clock`` given to :class:`AmazonSESSend`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Hashable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from emailhook.domain.clock import utcnow
from emailhook.domain.sending.message import OutgoingMessage
from emailhook.domain.sending.retries import Resolution
from emailhook.domain.vocabulary import RejectReason
from emailhook.providers.amazon_ses.send_bodies import (
    METADATA_HEADER,
    message_headers,
    send_bulk_body,
    send_email_body,
)
from emailhook.providers.base import ProviderSetting, ProviderValues
from emailhook.providers.sending import (
    HttpAnswer,
    HttpRequest,
    Outcome,
    RecipientResult,
    SendConfig,
)

NAME = "amazon_ses"
SEND = "/v2/email/outbound-emails"
BULK = "/v2/email/outbound-bulk-emails"
REGION = "us-east-1"
#: the service name SigV4 signs for
SERVICE = "ses"
#: SES's limits: headers a message, characters of a header's value (printable ASCII)
MAX_HEADERS = 15
HEADER_VALUE_CHARS = 995
HEADER_VALUE = re.compile(r"[ -~]{1,995}")
HEADER_NAME = re.compile(r"[!-9;-@A-~]{1,126}")

#: BulkEmailEntryResult.Status -> what it means for the entry; a status not here is UNKNOWN
#: (SES's words kept). Throttling and a transient failure never sent the entry: sent again.
BULK_STATUSES: dict[str, Outcome] = {
    "SUCCESS": Outcome.ACCEPTED,
    #: refused: content (a virus) or policy, which suppresses nothing, or, where the error
    #: names it, the account-level suppression list (SES documents that one as accepted and
    #: answered later by an ``OnAccountSuppressionList`` bounce; both are read)
    "MESSAGE_REJECTED": Outcome.REJECTED,
    "ACCOUNT_THROTTLED": Outcome.RETRY,
    "ACCOUNT_DAILY_QUOTA_EXCEEDED": Outcome.RETRY,
    "TRANSIENT_FAILURE": Outcome.RETRY,
    "MAIL_FROM_DOMAIN_NOT_VERIFIED": Outcome.FAILED,
    "CONFIGURATION_SET_NOT_FOUND": Outcome.FAILED,
    "TEMPLATE_NOT_FOUND": Outcome.FAILED,
    "ACCOUNT_SUSPENDED": Outcome.FAILED,
    "INVALID_SENDING_POOL_NAME": Outcome.FAILED,
    "ACCOUNT_SENDING_PAUSED": Outcome.FAILED,
    "CONFIGURATION_SET_SENDING_PAUSED": Outcome.FAILED,
    "INVALID_PARAMETER": Outcome.FAILED,
    "FAILED": Outcome.FAILED,
}
#: error codes (``x-amzn-ErrorType``) of throttling: not sent, sent again later; any other
#: 4xx fails the message with SES's words (SendEmail's ``MessageRejected`` included: a virus,
#: or in the sandbox an unverified sender as often as an unverified recipient, so it is no
#: evidence against the recipient)
THROTTLING = frozenset({"TooManyRequestsException", "ThrottlingException", "Throttling"})

#: the send settings, ``EMAILHOOK_AMAZON_SES_<NAME>`` (part of the provider's settings)
SEND_SETTINGS = (
    ProviderSetting(
        "access_key_id", "secrets", "AWS access key id(s) that send; the first is used"
    ),
    ProviderSetting(
        "secret_access_key", "secrets", "the AWS secret access key(s), in the order of the ids"
    ),
    ProviderSetting("region", "text", "the AWS region SES sends from", REGION),
    ProviderSetting(
        "configuration_set",
        "text",
        "the configuration set every message names (its event destinations publish our tags)",
    ),
    ProviderSetting(
        "api_url", "text", "the send API's base URL (default https://email.<region>.amazonaws.com)"
    ),
    ProviderSetting(
        "send_rate",
        "number",
        "send calls a second, shared by every worker (SES counts each recipient of a bulk call)",
        14.0,
    ),
)

Clock = Callable[[], datetime]


class AmazonSESSend:
    """Amazon SES v2: ``SendEmail`` a message, ``SendBulkEmail`` for a stored template
    (``SendSide``)."""

    name = NAME
    max_batch = 50
    resolution = Resolution.NONE
    features = frozenset(
        {"template_id", "attachments", "metadata", "headers", "track_opens", "track_clicks"}
    )

    def __init__(self, clock: Clock = utcnow) -> None:
        self._clock = clock

    @staticmethod
    def configure(values: ProviderValues) -> tuple[SendConfig, float | None] | None:
        """Return the send config and rate from the provider's settings, or None (no key)."""
        ids = values.get("access_key_id") or ()
        keys = values.get("secret_access_key") or ()
        if not ids or not keys:
            return None
        region = values.get("region") or REGION
        extra = {"region": region, "access_key_id": ids[0]}
        if values.get("configuration_set"):
            extra["configuration_set"] = values["configuration_set"]
        url = values.get("api_url") or f"https://email.{region}.amazonaws.com"
        return SendConfig(url, keys[0], extra=extra), values.get("send_rate")

    def request_key(self, message: OutgoingMessage) -> Hashable:
        if message.template_id is None:
            return ("one", message.public_id)  # SendEmail: one message a call
        # SendBulkEmail: what the call keeps for all its entries
        return (
            "bulk",
            message.template_id,
            message.from_email,
            message.reply_to,
            message.attachments,
            message.track_opens,
            message.track_clicks,
        )

    def check(self, message: OutgoingMessage) -> str | None:
        if message.template_id is not None:
            given = [f for f in ("subject", "text", "html") if getattr(message, f) is not None]
            if given:
                return (
                    "Amazon SES takes the subject and content from the template: "
                    f"{', '.join(given)} cannot go with template_id"
                )
        headers = message_headers(message)
        if len(headers) > MAX_HEADERS:
            return f"Amazon SES takes at most {MAX_HEADERS} headers a message, ours included"
        for item in headers:
            if not HEADER_NAME.fullmatch(item["Name"]):
                return f"Amazon SES refuses the header name {item['Name']!r}"
            if not HEADER_VALUE.fullmatch(item["Value"]):
                what = "metadata" if item["Name"] == METADATA_HEADER else f"header {item['Name']}"
                return (
                    f"Amazon SES's header values are 1 to {HEADER_VALUE_CHARS} printable ASCII"
                    f" characters: the {what} is not"
                )
        return None

    def prepare(self, messages: Sequence[OutgoingMessage], config: SendConfig) -> HttpRequest:
        first = messages[0]
        if first.template_id is None:
            if len(messages) != 1:
                raise ValueError("SendEmail sends one message a call")
            path, body = SEND, send_email_body(first, config)
        else:
            path, body = BULK, send_bulk_body(messages, config)
        data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        return self._signed(config.api_url.rstrip("/") + path, data, config)

    def _signed(self, url: str, body: bytes, config: SendConfig) -> HttpRequest:
        """Return the POST of ``body`` to ``url``, signed with SigV4 at the clock's time."""
        # imported on the first SES send, not with the provider registry: botocore takes
        # 130-220 ms to import, which every process (web, CLI) would pay otherwise
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        headers = {
            "Host": urlsplit(url).netloc,
            "Content-Type": "application/json",
            "X-Amz-Date": self._clock().strftime("%Y%m%dT%H%M%SZ"),
        }
        aws = AWSRequest(method="POST", url=url, data=body, headers=headers)
        aws.context["timestamp"] = headers["X-Amz-Date"]
        credentials = Credentials(config.extra["access_key_id"], config.api_key)
        signer = SigV4Auth(credentials, SERVICE, config.extra["region"])
        signature = signer.signature(signer.string_to_sign(aws, signer.canonical_request(aws)), aws)
        signed = signer.signed_headers(signer.headers_to_sign(aws))
        headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={signer.scope(aws)}, "
            f"SignedHeaders={signed}, Signature={signature}"
        )
        return HttpRequest("POST", url, {**headers, "Accept": "application/json"}, body)

    def parse(
        self, answer: HttpAnswer, messages: Sequence[OutgoingMessage]
    ) -> list[RecipientResult]:
        ids = [m.public_id for m in messages]
        if answer.status == 200:
            body = _json(answer.body)
            if messages and messages[0].template_id is not None:
                results = body.get("BulkEmailEntryResults")
                if not isinstance(results, list) or len(results) != len(ids):
                    return [
                        RecipientResult(i, Outcome.UNKNOWN, reason="unreadable 200") for i in ids
                    ]
                return [_entry(i, r) for i, r in zip(ids, results, strict=True)]
            message_id = body.get("MessageId")
            if not isinstance(message_id, str) or not message_id:
                return [RecipientResult(i, Outcome.UNKNOWN, reason="unreadable 200") for i in ids]
            return [RecipientResult(i, Outcome.ACCEPTED, message_id) for i in ids]
        code, reason = _error(answer)
        if answer.status == 429 or code in THROTTLING:
            return [RecipientResult(i, Outcome.RETRY, reason=reason) for i in ids]
        if answer.status >= 500:
            return [RecipientResult(i, Outcome.UNKNOWN, reason=reason) for i in ids]
        return [RecipientResult(i, Outcome.FAILED, reason=reason) for i in ids]

    def lookup(self, public_ids: Sequence[str], config: SendConfig) -> list[HttpRequest]:
        raise NotImplementedError("Amazon SES cannot be asked by our id (Resolution.NONE)")

    def found(self, answer: HttpAnswer) -> dict[str, str]:
        raise NotImplementedError("Amazon SES cannot be asked by our id (Resolution.NONE)")


def _entry(public_id: str, result: object) -> RecipientResult:
    if not isinstance(result, dict):
        return RecipientResult(public_id, Outcome.UNKNOWN, reason="unreadable result")
    status = str(result.get("Status") or "")
    words = f"{status}: {result.get('Error')}" if result.get("Error") else status
    outcome = BULK_STATUSES.get(status, Outcome.UNKNOWN)
    if outcome is Outcome.ACCEPTED:
        message_id = result.get("MessageId")
        if isinstance(message_id, str) and message_id:
            return RecipientResult(public_id, Outcome.ACCEPTED, message_id)
        return RecipientResult(public_id, Outcome.UNKNOWN, reason="SUCCESS without MessageId")
    if outcome is Outcome.REJECTED:
        listed = "suppression list" in str(result.get("Error") or "").lower()
        return RecipientResult(
            public_id,
            outcome,
            reason=words,
            reject_reason=RejectReason.BOUNCED if listed else RejectReason.OTHER,
        )
    return RecipientResult(public_id, outcome, reason=words or "unreadable result")


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _error(answer: HttpAnswer) -> tuple[str | None, str]:
    """Return the error's code (``x-amzn-ErrorType``, else the body's ``__type``) and words."""
    body = _json(answer.body)
    raw = answer.header("x-amzn-ErrorType") or str(body.get("__type") or "")
    code = raw.split(":", 1)[0].rsplit("#", 1)[-1].strip() or None
    message = body.get("message") or body.get("Message")
    words = f"HTTP {answer.status}" + (f" {code}" if code else "")
    return code, f"{words}: {message}" if message else words
