"""Start-up checks of webhook authentication: production refuses to start while anyone may
post to ``POST /email``, and every start says which methods are in force.

Infobip is the one provider enabled without a setting (its path is the service's first), so
it is the one that can be open; its check itself lives with it (``providers.infobip.auth``).
"""

from __future__ import annotations

import logging

from emailhook.providers.infobip.auth import WebhookAuth
from emailhook.providers.infobip.webhook import Infobip
from emailhook.service.errors import ConfigurationError
from emailhook.settings import Settings

log = logging.getLogger("emailhook.auth")

#: environment variables that configure a method, for the production start-up error
AUTH_VARIABLES = tuple(
    setting.variable(Infobip.name) for setting in Infobip.settings if setting.kind == "secrets"
)


def require_authentication(settings: Settings) -> WebhookAuth:
    """Return the configured WebhookAuth; raise ConfigurationError in production without one."""
    auth = WebhookAuth.from_values(settings.provider_values(Infobip.name))
    if not auth.methods and settings.env == "production":
        raise ConfigurationError(
            "EMAILHOOK_ENV=production but no webhook authentication is configured: set at "
            f"least one of {', '.join(AUTH_VARIABLES)} (see README, Security)"
        )
    return auth


def announce(auth: WebhookAuth) -> None:
    """Log the methods in force at start-up; with none, one loud warning."""
    if auth.methods:
        log.info("webhook authentication: %s", ", ".join(auth.methods))
        return
    log.warning(
        "!!! NO WEBHOOK AUTHENTICATION: anyone can post forged events to /email. Fine for "
        "development only; set one of %s before exposing this service (README, Security) !!!",
        ", ".join(AUTH_VARIABLES),
    )
