"""Provider webhooks (``POST /webhooks/<provider>``): find the provider, authenticate the raw
request, answer its control messages, and keep the rest through the intake.

The order is anymail's, and fixed: nothing is kept before the request is authenticated, and
nothing is answered 200 before it is kept. Infobip is served here like the others; its path
is also ``POST /email``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from emailhook.domain.clock import utcnow
from emailhook.providers.base import Provider, WebhookRequest
from emailhook.service.errors import FeatureDisabledError, UpstreamUnavailableError
from emailhook.service.receive.intake import Admission, Intake, Receipt

log = logging.getLogger("emailhook.webhooks")


@dataclass(frozen=True, slots=True)
class Answered:
    """A request answered 200 with nothing kept: a set-up check or a control message."""

    description: str


class ProviderWebhooks:
    """The enabled providers, built once per process, and the flow every request follows."""

    def __init__(
        self,
        enabled: Mapping[str, Provider],
        disabled: Mapping[str, tuple[str, ...]],
        intake: Intake,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """``disabled`` names each known provider that is not enabled, and the variables of
        which one would enable it."""
        self._enabled = dict(enabled)
        self._disabled = dict(disabled)
        self._intake = intake
        self._clock = clock

    @property
    def enabled(self) -> tuple[str, ...]:
        return tuple(self._enabled)

    def provider(self, name: str) -> Provider:
        """Return the enabled provider ``name``, or raise FeatureDisabledError (404) saying
        which setting enables it."""
        found = self._enabled.get(name)
        if found is not None:
            return found
        if name in self._disabled:
            variables = " or ".join(self._disabled[name])
            raise FeatureDisabledError(f"provider {name} is not enabled: set {variables}")
        known = ", ".join(sorted([*self._enabled, *self._disabled]))
        raise FeatureDisabledError(f"no provider named {name!r}; known: {known}")

    def find(self, name: str) -> Provider | None:
        """Return the enabled provider ``name``, or None (a name no provider has, or one not
        enabled: its 404 comes from ``admit``), for the web paths to read its flags
        (``quick_check``, ``reads_url``) before anything is admitted."""
        return self._enabled.get(name)

    def check(self, name: str, method: str) -> Answered | None:
        """Answer a provider's set-up probe (Mandrill's HEAD, Unisender Go's GET), or None
        when ``method`` is not one of its ``check_methods``."""
        provider = self.provider(name)
        if method.upper() not in provider.check_methods:
            return None
        return Answered(f"{name} {method.upper()} check")

    def receive(
        self, name: str, request: WebhookRequest, *, request_id: str | None = None
    ) -> Receipt | Answered:
        """Authenticate ``request`` and keep it, or answer its control message (``admit``,
        then the intake's ``keep``)."""
        admitted = self.admit(name, request, request_id=request_id)
        return admitted if isinstance(admitted, Answered) else self._intake.keep(admitted)

    def admit(
        self, name: str, request: WebhookRequest, *, request_id: str | None = None
    ) -> Admission | Answered:
        """Authenticate ``request`` and return it ready to be kept, or answer its control
        message.

        Raises FeatureDisabledError (404), AuthenticationError (401), ForbiddenSourceError
        (403), InvalidBodyError (400) or UpstreamUnavailableError (503).
        """
        provider = self.provider(name)
        provider.authenticate(request, self._clock())
        try:
            control = provider.control(request)
        except OSError as error:  # fetch failed (SNS's SubscribeURL): SNS sends it again
            log.warning("%s control message not handled: %s", name, error)
            raise UpstreamUnavailableError(f"{name}: the provider could not be reached") from error
        if control is not None:
            log.info("%s control message answered: %s", name, control)
            return Answered(control)
        return self._intake.admit_provider(provider, request, request_id=request_id)
