"""Every provider this service takes, registered here and nowhere else.

Adding a provider is one module beside this one and one line below: its settings
(``EMAILHOOK_<NAME>_<SETTING>``), its route (``POST /webhooks/<name>``), its parsing in the
worker and its secrets' masking in logs all follow from the class.
"""

from __future__ import annotations

from collections.abc import Mapping

from emailhook.providers.amazon_ses import AmazonSES
from emailhook.providers.base import Provider
from emailhook.providers.brevo import Brevo
from emailhook.providers.infobip import Infobip
from emailhook.providers.mailersend import MailerSend
from emailhook.providers.mailgun import Mailgun
from emailhook.providers.mailjet import Mailjet
from emailhook.providers.mandrill import Mandrill
from emailhook.providers.postal import Postal
from emailhook.providers.postmark import Postmark
from emailhook.providers.resend import Resend
from emailhook.providers.sendgrid import SendGrid
from emailhook.providers.sparkpost import SparkPost
from emailhook.providers.unisender_go import UnisenderGo

#: each provider answers at ``POST /webhooks/<name>`` once one of its ``enabled_by`` is set
PROVIDERS: tuple[type[Provider], ...] = (
    Infobip,
    AmazonSES,
    SendGrid,
    Mailgun,
    Postmark,
    Resend,
    SparkPost,
    Mailjet,
    Mandrill,
    Brevo,
    Postal,
    MailerSend,
    UnisenderGo,
)

#: the provider whose bodies ``POST /email`` takes: the service's path before providers
EMAIL_PROVIDER = Infobip.name

#: the providers by name
BY_NAME: Mapping[str, type[Provider]] = {provider.name: provider for provider in PROVIDERS}


def default_values(provider: type[Provider]) -> dict[str, object]:
    """Return a provider's setting values when none is set: lists empty, the rest default."""
    return {
        setting.name: () if setting.kind in ("secrets", "texts") else setting.default
        for setting in provider.settings
    }


def parsers() -> dict[str, Provider]:
    """Return every provider built with its defaults: enough to parse kept bodies (parsing
    reads no secret)."""
    return {provider.name: provider(default_values(provider)) for provider in PROVIDERS}
