"""Who may send: ``Authorization: Bearer <key>`` against every configured key, compared in
constant time (a list, so that a key rotates without downtime). With no key configured the
send API is off, never open."""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from emailhook.service.errors import FeatureDisabledError, SendUnauthorizedError
from emailhook.settings import variable_of

_BEARER = "bearer "


class SendKeys:
    def __init__(self, keys: Sequence[str]) -> None:
        self._keys = [key.encode() for key in keys if key]

    @property
    def enabled(self) -> bool:
        return bool(self._keys)

    def matches(self, authorization: str | None) -> bool:
        """True when ``authorization`` is ``Bearer <a configured key>``."""
        if not authorization or authorization[: len(_BEARER)].lower() != _BEARER:
            return False
        offered = authorization[len(_BEARER) :].strip().encode("utf-8", "surrogateescape")
        matched = False
        for key in self._keys:  # every key, always: the time tells nothing
            matched |= hmac.compare_digest(offered, key)
        return matched

    def require(self, authorization: str | None) -> None:
        """Raise unless ``authorization`` carries a send key (404 while the API is off)."""
        if not self._keys:
            raise FeatureDisabledError(
                f"the send API is off: set {variable_of('send_api_keys')} to turn it on"
            )
        if not self.matches(authorization):
            raise SendUnauthorizedError("a send API key is required")
