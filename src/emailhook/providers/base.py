"""What every provider module gives: its settings, how it authenticates a request on the raw
bytes, and how it reads its events into the one vocabulary.

A provider is one module holding one :class:`Provider` subclass (authentication and mapping)
and its mapping tables, registered in ``providers.registry``. Nothing here imports a framework:
the HTTP layer turns a request into a :class:`WebhookRequest`, the worker turns an inbox row
into a :class:`StoredRequest`, and network access (certificates, SNS confirmations) comes in
as a plain function.

The flow, fixed for every provider (anymail's order): authenticate, then either answer a
control message (a ping, a subscription confirmation) or keep the body, then, in the worker,
parse it into 0..N events.
"""

from __future__ import annotations

import abc
import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal

from emailhook.domain.events import ParsedBody, Shape
from emailhook.domain.recipients import without_non_addresses

#: ``fetch(url) -> body``: an HTTPS GET with a timeout, raising OSError on any failure.
#: Given to providers that must reach their sender (SNS certificates and confirmations).
Fetch = Callable[[str], bytes]


@dataclass(frozen=True, slots=True)
class StoredRequest:
    """What the inbox keeps of a request, and all that parsing may read."""

    body: bytes
    #: the Content-Type header as sent (``application/json``, ``text/plain``, a form type)
    content_type: str = ""
    #: the headers named by the provider's ``kept_headers``, names lower-cased
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """A request as received, before anything is kept: what authentication may read."""

    body: bytes
    #: every request header, names lower-cased
    headers: Mapping[str, str]
    content_type: str
    #: the URL as the sender called it: scheme, host, path and query, for a provider whose
    #: ``reads_url`` is set (Mandrill signs it); empty for the others
    url: str
    method: str = "POST"
    remote_addr: str | None = None
    #: a secret the sender put in the URL, for a provider whose ``url_token`` is set: the
    #: path's last segment (``POST /email/<token>``) and the query's first ``token``
    path_token: str | None = None
    query_token: str | None = None

    def stored(self, kept_headers: Iterable[str]) -> StoredRequest:
        """Return what the inbox keeps: the body, its type and the ``kept_headers`` present."""
        kept = {name: self.headers[name] for name in kept_headers if name in self.headers}
        return StoredRequest(self.body, self.content_type, kept)


@dataclass(frozen=True, slots=True)
class BodyCheck:
    """What a body's check found before the 200: how many events it carries, its shape."""

    events: int
    #: ``Shape.PROVIDER``, but for Infobip, whose bodies keep the shapes they had before
    #: providers (what ``POST /email`` answers, what its inbox rows say)
    shape: Shape = Shape.PROVIDER
    #: the body's first recipients, masked, for the intake's DEBUG line (computed only then)
    recipients: Callable[[], str] | None = None


class AuthenticationError(PermissionError):
    """The request did not prove it comes from the provider: 401, nothing kept.

    ``challenge`` is a ``WWW-Authenticate`` value to send back (SNS sends HTTP Basic
    credentials only after a 401 that asks for them). ``reason`` goes to the log, never to
    the sender.
    """

    def __init__(self, reason: str, *, challenge: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.challenge = challenge


class ForbiddenSourceError(PermissionError):
    """Authentic, but from a source this service does not take (a foreign SNS topic): 403."""


class UnreadableBodyError(ValueError):
    """The body is not what the provider sends (not JSON, not its form): 400, nothing kept."""


SettingKind = Literal["secrets", "texts", "text", "number"]


@dataclass(frozen=True, slots=True)
class ProviderSetting:
    """One setting of a provider, read from ``EMAILHOOK_<PROVIDER>_<NAME>``.

    ``secrets`` and ``texts`` are lists (``a,b`` or a JSON array); every ``secrets`` value is
    masked in log lines, and a list lets a secret rotate: add the new one, switch, drop the old.
    """

    name: str
    kind: SettingKind
    help: str
    default: str | float | None = None
    #: read from ``EMAILHOOK_<NAME>``, a setting older than providers, declared with its type
    #: and checks among the service's own settings (Infobip's webhook authentication)
    unprefixed: bool = False

    def variable(self, provider: str) -> str:
        """Return the environment variable that sets this setting."""
        if self.unprefixed:
            return f"EMAILHOOK_{self.name.upper()}"
        return f"EMAILHOOK_{provider.upper()}_{self.name.upper()}"


#: A provider's setting values by name: ``secrets``/``texts`` as tuple[str, ...], ``text`` as
#: str | None, ``number`` as float.
ProviderValues = Mapping[str, Any]


class Provider(abc.ABC):
    """One e-mail provider: its settings, its authentication and its mapping."""

    #: the path segment (``POST /webhooks/<name>``) and the ``provider`` column's value
    name: ClassVar[str]
    #: its settings, each read from ``EMAILHOOK_<NAME>_<SETTING>``
    settings: ClassVar[tuple[ProviderSetting, ...]]
    #: setting names of which one must be set for the provider to be enabled
    enabled_by: ClassVar[tuple[str, ...]]
    #: request headers the inbox keeps beside the body, because parsing reads them
    kept_headers: ClassVar[tuple[str, ...]] = ()
    #: methods besides POST answered 200 with nothing kept (a provider's set-up check)
    check_methods: ClassVar[frozenset[str]] = frozenset()
    #: its paths take a secret as their last segment (``/webhooks/<name>/<token>``)
    url_token: ClassVar[bool] = False
    #: its authentication reads the URL as called (``WebhookRequest.url``), which is then
    #: built for its requests alone (building it costs the hottest path a twentieth)
    reads_url: ClassVar[bool] = False
    #: its authentication and body check take microseconds (an HMAC at most, a JSON decode):
    #: the webhook front runs them on its event loop rather than on a thread
    quick_check: ClassVar[bool] = False
    #: the inbox keeps the request's content type and ``kept_headers`` beside the body
    #: (Infobip's parsing reads neither, and its rows never held them)
    keeps_request: ClassVar[bool] = True

    def __init__(self, values: ProviderValues, *, fetch: Fetch | None = None) -> None:
        self.values = values
        self._fetch = fetch

    @abc.abstractmethod
    def authenticate(self, request: WebhookRequest, now: datetime) -> None:
        """Return if ``request`` comes from the provider; else raise AuthenticationError (or
        ForbiddenSourceError). Reads the raw bytes; compares secrets in constant time."""

    def control(self, request: WebhookRequest) -> str | None:
        """Handle an authenticated request that carries no event and needs no keeping (a
        ping, a subscription confirmation): return what it was, for the log; else None."""
        del request
        return None

    @abc.abstractmethod
    def parse(self, request: StoredRequest) -> ParsedBody:
        """Return the events of a kept body (``Shape.PROVIDER``), 0..N of them.

        Pure: the same request gives the same events with the same keys. An item that cannot
        be read becomes a ``RejectedItem``; the others are kept. Raises UnreadableBodyError
        for a body that is not this provider's at all.
        """

    def parse_checked(self, request: StoredRequest) -> ParsedBody:
        """Return :meth:`parse`'s events less those whose recipient is not an e-mail address,
        which are set aside (counted, kept raw in the body, never stored: ``domain.recipients``).
        What the worker stores; a provider module need not check recipients itself."""
        return without_non_addresses(self.parse(request))

    def check_body(self, request: WebhookRequest) -> BodyCheck:
        """Return how many events the body carries, or raise UnreadableBodyError: run before
        the 200, so a body that is not the provider's is refused rather than kept."""
        return BodyCheck(len(self.parse(request.stored(self.kept_headers)).events))


def event_key(provider: str, *parts: object) -> str:
    """Return the dedupe key of a provider's event: ``provider`` and a digest of ``parts``.

    Infobip's keys, older than the other providers, name their kind instead of the provider
    (``dr`` a delivery report, ``tr`` a tracking event, ``bl`` a blocklist event).

    ``parts`` are the provider's stable event id with whatever it is shared by (recipient,
    type), or, without one, the message id, recipient, provider type and provider time.
    None and '' are the same part; the result fits ``email_callback.event_key``.
    """
    # a list, text first: this runs for every event the worker stores (as fast as Infobip's
    # own key function was, measured)
    joined = "\x1f".join([p if type(p) is str else "" if p is None else str(p) for p in parts])
    return f"{provider}:{digest(joined.encode('utf-8', 'surrogatepass'))}"


def digest(data: bytes) -> str:
    """Return the hex blake2b-160 digest of ``data``: what every event key ends with."""
    return hashlib.blake2b(data, digest_size=20).hexdigest()


def any_secret_matches(offered: bytes | None, secrets: Iterable[bytes]) -> bool:
    """Return True when ``offered`` equals one of ``secrets``, comparing with every one."""
    matched = False
    for secret in secrets:
        # every secret is compared, so the time says nothing about which one came close
        matched |= offered is not None and hmac.compare_digest(offered, secret)
    return matched


def basic_credentials(headers: Mapping[str, str]) -> bytes | None:
    """Return the ``user:password`` of an ``Authorization: Basic`` header, or None."""
    scheme, _, credential = headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() != "basic" or not credential.strip():
        return None
    try:
        return base64.b64decode(credential.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


def basic_auth_matches(headers: Mapping[str, str], pairs: Iterable[str]) -> bool:
    """Return True when the request's HTTP Basic credentials are one of ``pairs`` (user:pw)."""
    return any_secret_matches(basic_credentials(headers), [p.encode() for p in pairs])


#: the challenge that makes a sender (SNS, a browser) send its HTTP Basic credentials
BASIC_CHALLENGE = 'Basic realm="emailhook", charset="UTF-8"'
