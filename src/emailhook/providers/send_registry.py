"""Every provider's send side that is configured by its provider settings
(``EMAILHOOK_<PROVIDER>_<SETTING>``), registered here and nowhere else. Infobip's send side
reads the account settings it shares with reconciliation (``EMAILHOOK_INFOBIP_BASE_URL``,
``EMAILHOOK_INFOBIP_API_KEY``) and is built by the composition root itself."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Protocol

from emailhook.domain.sending.message import OutgoingMessage
from emailhook.domain.sending.retries import Resolution
from emailhook.providers.amazon_ses.send import AmazonSESSend
from emailhook.providers.base import ProviderValues
from emailhook.providers.brevo.send import BrevoSend
from emailhook.providers.mailersend.send import MailerSendSend
from emailhook.providers.mailgun.send import MailgunSend
from emailhook.providers.mailjet.send import MailjetSend
from emailhook.providers.mandrill.send import MandrillSend
from emailhook.providers.postal.send import PostalSend
from emailhook.providers.postmark.send import PostmarkSend
from emailhook.providers.resend.send import ResendSend
from emailhook.providers.sendgrid.send import SendGridSend
from emailhook.providers.sending import HttpAnswer, HttpRequest, RecipientResult, SendConfig
from emailhook.providers.sparkpost.send import SparkPostSend
from emailhook.providers.unisender_go.send import UnisenderGoSend


class ConfiguredSendSide(Protocol):
    """A ``SendSide`` that builds its config from its provider's settings."""

    name: str
    max_batch: int
    resolution: Resolution
    features: frozenset[str]

    def configure(self, values: ProviderValues) -> tuple[SendConfig, float | None] | None: ...
    def request_key(self, message: OutgoingMessage) -> Hashable: ...
    def check(self, message: OutgoingMessage) -> str | None: ...
    def prepare(self, messages: Sequence[OutgoingMessage], config: SendConfig) -> HttpRequest: ...
    def parse(
        self, answer: HttpAnswer, messages: Sequence[OutgoingMessage]
    ) -> list[RecipientResult]: ...
    def lookup(self, public_ids: Sequence[str], config: SendConfig) -> list[HttpRequest]: ...
    def found(self, answer: HttpAnswer) -> dict[str, str]: ...


#: the send sides configured by provider settings
SENDERS: tuple[ConfiguredSendSide, ...] = (
    PostmarkSend(),
    SendGridSend(),
    ResendSend(),
    MailgunSend(),
    MailjetSend(),
    MandrillSend(),
    MailerSendSend(),
    UnisenderGoSend(),
    BrevoSend(),
    PostalSend(),
    AmazonSESSend(),
    SparkPostSend(),
)
