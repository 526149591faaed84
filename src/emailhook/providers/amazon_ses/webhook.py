"""Amazon SES events, delivered by SNS: a ``text/plain`` JSON envelope around the SES event.

Authentication is SNS's RSA signature (see ``_sns``), then the topic allow-list: a valid
signature proves only that SNS sent it, not that the topic is ours. HTTP Basic may be added on
top; SNS sends credentials only after a 401 asking for them. Subscription confirmations of an
allowed topic are confirmed by fetching ``SubscribeURL`` (an SNS host only).

``Message`` holds either an "event publishing" record (``eventType``) or a "notification"
(``notificationType``); one record may name several recipients, and becomes one event each.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

import orjson

from emailhook.domain.events import ParsedBody, RejectedItem, Shape
from emailhook.providers._basic import require_basic
from emailhook.providers._fields import load_json, text
from emailhook.providers.amazon_ses import events as _ses_events
from emailhook.providers.amazon_ses.send import SEND_SETTINGS
from emailhook.providers.amazon_ses.sns import SigningCertificates
from emailhook.providers.base import (
    AuthenticationError,
    Fetch,
    ForbiddenSourceError,
    Provider,
    ProviderSetting,
    ProviderValues,
    StoredRequest,
    UnreadableBodyError,
    WebhookRequest,
)

#: SNS's own hosts, over https (the China partition's end in .amazonaws.com.cn)
DEFAULT_CERT_URL_PATTERN = r"^https://sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/"

#: the Notification SES sends once a topic is set as an event destination: nothing to keep
VALIDATION_MESSAGE = "Successfully validated SNS topic for Amazon SES event publishing."

SNS_TYPES = frozenset({"Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"})


def _envelope(body: bytes) -> Mapping[str, Any]:
    message = load_json(body, "Amazon SNS")
    if not isinstance(message, Mapping) or message.get("Type") not in SNS_TYPES:
        raise UnreadableBodyError("Amazon SNS body is not an SNS message envelope")
    return message


class AmazonSES(Provider):
    """Amazon SES through SNS HTTP(S) subscriptions."""

    name: ClassVar[str] = "amazon_ses"
    settings: ClassVar[tuple[ProviderSetting, ...]] = (
        ProviderSetting("topic_arns", "texts", "the SNS topic ARNs whose messages are taken"),
        ProviderSetting(
            "cert_url_pattern",
            "text",
            "regex a SigningCertURL or SubscribeURL must match to be fetched",
            default=DEFAULT_CERT_URL_PATTERN,
        ),
        ProviderSetting("basic_auth", "secrets", "optional HTTP Basic user:password"),
        *SEND_SETTINGS,
    )
    enabled_by: ClassVar[tuple[str, ...]] = ("topic_arns",)

    def __init__(self, values: ProviderValues, *, fetch: Fetch | None = None) -> None:
        super().__init__(values, fetch=fetch)
        pattern = values.get("cert_url_pattern") or DEFAULT_CERT_URL_PATTERN
        self._topics = frozenset(values.get("topic_arns", ()))
        self._basic = tuple(values.get("basic_auth", ()))
        self._certificates = SigningCertificates(re.compile(pattern), fetch)

    def authenticate(self, request: WebhookRequest, now: datetime) -> None:
        del now
        if self._basic:  # checked first: nothing is fetched for a request without them
            require_basic(request.headers, self._basic, "SNS")
        try:
            message = _envelope(request.body)
        except UnreadableBodyError as error:
            raise AuthenticationError(str(error)) from error
        # SNS repeats Type and MessageId in headers; a body that disagrees was not sent so
        for header, name in (
            ("x-amz-sns-message-type", "Type"),
            ("x-amz-sns-message-id", "MessageId"),
        ):
            if header in request.headers and request.headers[header] != message.get(name):
                raise AuthenticationError(f"{header} does not match the body's {name}")
        self._certificates.verify(message)
        topic = message.get("TopicArn")
        if topic not in self._topics:
            raise ForbiddenSourceError(f"SNS topic {topic!r} is not in topic_arns")

    def control(self, request: WebhookRequest) -> str | None:
        message = _envelope(request.body)
        kind = message.get("Type")
        topic = message.get("TopicArn")
        if kind == "SubscriptionConfirmation":
            if topic not in self._topics:  # authenticate refused it already; never confirm
                raise ForbiddenSourceError(f"SNS topic {topic!r} is not in topic_arns")
            url = text(message.get("SubscribeURL")) or ""
            if not self._certificates.allows(url):
                raise ForbiddenSourceError(f"SubscribeURL {url!r} is not an SNS host")
            if self._fetch is None:
                raise RuntimeError("no fetch given: SNS subscriptions cannot be confirmed")
            self._fetch(url)  # OSError propagates: SNS sends the confirmation again
            return f"SNS subscription to {topic} confirmed"
        if kind == "UnsubscribeConfirmation":
            return f"SNS unsubscribe confirmation for {topic}"
        if message.get("Message") == VALIDATION_MESSAGE:
            return f"SES event destination validated on {topic}"
        return None

    def parse(self, request: StoredRequest) -> ParsedBody:
        message = _envelope(request.body)
        if message.get("Type") != "Notification" or message.get("Message") == VALIDATION_MESSAGE:
            return ParsedBody(Shape.PROVIDER)
        try:
            record = orjson.loads(str(message.get("Message")))
        except orjson.JSONDecodeError:
            record = None
        if not isinstance(record, Mapping) or not (
            text(record.get("eventType")) or text(record.get("notificationType"))
        ):
            reason = "SNS Message is not an SES event record"
            return ParsedBody(Shape.PROVIDER, rejected=[RejectedItem(0, reason)])
        return ParsedBody(Shape.PROVIDER, events=_ses_events.events(record, message))
