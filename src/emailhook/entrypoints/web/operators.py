"""Who may read the data: operators with HTTP Basic credentials, checked in constant time.

The dashboard and the query API both show e-mail addresses, who complained and who is
suppressed; they answer operators only. Like the webhook's secrets
(``providers.infobip.auth``), every configured ``user:password`` is compared, matched or not,
so the time taken tells nothing about which one came close. Without any operator both are open
in development (with a warning, and a banner on the dashboard) and disabled in production,
where they would show every address to anyone and allow replays.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import logging
from collections.abc import Iterable
from urllib.parse import urlsplit

from emailhook.service.errors import (
    FeatureDisabledError,
    ForbiddenError,
    OperatorUnauthorizedError,
)
from emailhook.settings import Settings

log = logging.getLogger("emailhook.operators")

REALM = "emailhook dashboard"
VARIABLE = "EMAILHOOK_OPERATOR_USERS"


class OperatorAuth:
    """Checks ``Authorization: Basic`` headers against the configured operators."""

    def __init__(self, users: Iterable[str], *, production: bool = False) -> None:
        self._users = tuple(u.encode("utf-8") for u in users if u)
        self._production = production

    @classmethod
    def from_settings(cls, settings: Settings) -> OperatorAuth:
        return cls(
            (u.get_secret_value() for u in settings.operator_users),
            production=settings.env == "production",
        )

    @property
    def configured(self) -> bool:
        return bool(self._users)

    @property
    def enabled(self) -> bool:
        """False in production without operators: the dashboard and query API answer 404."""
        return self.configured or not self._production

    def verify(self, authorization: str | None, *, remote_addr: str | None) -> str | None:
        """Return the operator's name (None when none are configured), or raise.

        Raises FeatureDisabledError when the dashboard is off, OperatorUnauthorizedError
        when the credentials are missing or match no operator.
        """
        if not self.enabled:
            raise FeatureDisabledError(
                f"the dashboard and query API are disabled in production until {VARIABLE} is set"
            )
        if not self.configured:
            return None
        offered = _basic(authorization)
        matched = False
        for user in self._users:  # every operator, always: no early exit
            matched |= hmac.compare_digest(offered or b"", user)
        if offered is None or not matched:
            log.warning("operator authentication failed: remote=%s", remote_addr or "-")
            raise OperatorUnauthorizedError("operator credentials required")
        return offered.split(b":", 1)[0].decode("utf-8", "replace")


def require_same_origin(origin: str | None, referer: str | None, host: str) -> None:
    """Raise ForbiddenError unless the request came from a page of this very host.

    Browsers send the stored Basic credentials with any request to this host, including a
    form that another site posts here; they also send ``Origin`` (or at least ``Referer``)
    with a POST, which that site cannot forge. No header at all is refused too.
    """
    source = origin if origin and origin != "null" else referer
    if not source or urlsplit(source).netloc.lower() != host.lower():
        raise ForbiddenError("this action must be posted from the dashboard's own pages")


def is_loopback(host: str) -> bool:
    """Return True when ``host`` (an address or name to bind) only listens to this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def announce(settings: Settings, host: str) -> None:
    """Log at start-up who may use the dashboard; loudly when anyone on the network may."""
    auth = OperatorAuth.from_settings(settings)
    if auth.configured:
        log.info("dashboard and query API: %d operator(s)", len(settings.operator_users))
    elif not auth.enabled:
        log.warning(
            "dashboard and query API disabled: EMAILHOOK_ENV=production and %s is not set",
            VARIABLE,
        )
    elif not is_loopback(host):
        log.warning(
            "!!! DASHBOARD AND QUERY API OPEN TO THE NETWORK: listening on %s without %s; anyone "
            "who reaches this port sees every address and can replay bodies. Set %s=user:password "
            "(README, Dashboard) !!!",
            host,
            VARIABLE,
            VARIABLE,
        )


def _basic(authorization: str | None) -> bytes | None:
    scheme, _, credential = (authorization or "").strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(credential.strip(), validate=True)
    except (ValueError, binascii.Error):
        return None
    return decoded if b":" in decoded else None
