"""The send pipeline's services, from settings: the providers that can send (each with its
send side, its account's settings and its pace), the send API, the dispatcher, the relay and
one-click unsubscribe."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from emailhook.adapters.http_send import HttpSender
from emailhook.adapters.smtp_send import SmtpSender
from emailhook.composition.policies import guard_rule, soft_bounce_rule
from emailhook.domain.sending.retries import RetryPolicy
from emailhook.providers.infobip.send import InfobipSend
from emailhook.providers.send_registry import SENDERS
from emailhook.providers.sending import SendConfig
from emailhook.providers.smtp.send import SmtpSend, relay_config
from emailhook.service.send.accept import AcceptPolicy, SendApi
from emailhook.service.send.campaign_progress import CampaignProgress
from emailhook.service.send.campaigns import Campaigns
from emailhook.service.send.dispatch import CircuitPolicy, Dispatcher, SendProvider
from emailhook.service.send.keys import SendKeys
from emailhook.service.send.messages import SentMessages
from emailhook.service.send.relay import PublishSend, SendRelay, SendRelayPolicy
from emailhook.service.send.unsubscribe import Unsubscribe, link_headers
from emailhook.settings import Settings

log = logging.getLogger("emailhook.send")


def report_url(settings: Settings) -> str | None:
    """Return where providers post reports of what we send: ``POST /email`` on the public
    URL, with the first webhook token in the path when tokens are configured."""
    if not settings.public_url:
        return None
    url = settings.public_url.rstrip("/") + "/email"
    if settings.webhook_tokens:
        url += "/" + settings.webhook_tokens[0].get_secret_value()
    return url


def send_providers(settings: Settings) -> dict[str, SendProvider]:
    """Return the providers configured to send, by name (Infobip: its base URL and key; the
    others: their ``EMAILHOOK_<PROVIDER>_*`` send settings; SMTP: ``EMAILHOOK_SMTP_URL``, sent
    through its own transport)."""
    found: dict[str, SendProvider] = {}
    infobip = settings.infobip_api
    if infobip is not None:
        base_url, api_key = infobip
        reports = report_url(settings)
        account = hashlib.sha256(f"{base_url}\n{api_key}".encode()).hexdigest()[:16]
        found["infobip"] = SendProvider(
            InfobipSend(),
            SendConfig(base_url, api_key, delivery_url=reports, tracking_url=reports),
            rate=settings.infobip_send_rate,
            bucket=f"infobip:{account}",
        )
    for side in SENDERS:
        configured = side.configure(settings.provider_values(side.name))
        if configured is None:
            continue
        config, rate = configured
        account = hashlib.sha256(f"{config.api_url}\n{config.api_key}".encode()).hexdigest()[:16]
        found[side.name] = SendProvider(side, config, rate=rate, bucket=f"{side.name}:{account}")
    if settings.smtp_url:
        config = relay_config(settings.smtp_url[0].get_secret_value())
        account = hashlib.sha256(f"{config.api_url}\n{config.api_key}".encode()).hexdigest()[:16]
        found["smtp"] = SendProvider(
            SmtpSend(),
            config,
            rate=settings.smtp_send_rate,
            bucket=f"smtp:{account}",
            deliver=SmtpSender(settings.send_timeout_seconds),
        )
    return found


def failover_route(settings: Settings, providers: Mapping[str, SendProvider]) -> tuple[str, ...]:
    """Return ``EMAILHOOK_SEND_PROVIDERS`` less the providers not configured to send (each
    named in a warning): the route of a request that names no provider."""
    route = tuple(name for name in settings.send_providers if name in providers)
    for name in settings.send_providers:
        if name not in providers:
            log.warning("EMAILHOOK_SEND_PROVIDERS names %s, which is not configured to send", name)
    return route


def _secrets(settings: Settings) -> list[str]:
    return [s.get_secret_value() for s in settings.unsubscribe_secrets]


@dataclass(frozen=True, slots=True)
class SendWeb:
    """What a web process serves the send API with."""

    keys: SendKeys
    api: SendApi
    messages: SentMessages
    unsubscribe: Unsubscribe
    campaigns: Campaigns
    #: the dashboard's campaign pages' reads
    progress: CampaignProgress


def send_web(
    settings: Settings, sessions: sessionmaker[Session], reads: sessionmaker[Session]
) -> SendWeb:
    """Return the send API's services (off until ``EMAILHOOK_SEND_API_KEYS`` is set)."""
    providers = send_providers(settings)
    secrets = _secrets(settings)
    headers = (
        link_headers(settings.public_url, secrets) if settings.public_url and secrets else None
    )
    route = failover_route(settings, providers)
    api = SendApi(
        sessions,
        {name: p.side for name, p in providers.items()},
        AcceptPolicy(
            default_provider=route[0] if route else settings.send_provider,
            idempotency=timedelta(hours=settings.idempotency_hours),
            soft_bounce_window=soft_bounce_rule(settings).suppress_for,
            route=route,
        ),
        unsubscribe_headers=headers,
    )
    return SendWeb(
        SendKeys([k.get_secret_value() for k in settings.send_api_keys]),
        api,
        SentMessages(sessions, reads),
        Unsubscribe(sessions, secrets, soft_bounce_rule(settings)),
        Campaigns(sessions, api, guards=guard_rule(settings)),
        CampaignProgress(reads),
    )


def send_retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=settings.send_max_attempts,
        lookup_grace_seconds=settings.send_lookup_grace_seconds,
    )


def dispatcher(settings: Settings, sessions: sessionmaker[Session]) -> Dispatcher:
    """Return a worker's dispatcher, with its own connection pool."""
    return Dispatcher(
        sessions,
        send_providers(settings),
        HttpSender(settings.send_timeout_seconds),
        send_retry_policy(settings),
        call_timeout=settings.send_timeout_seconds,
        soft_bounces=soft_bounce_rule(settings),
        circuit=CircuitPolicy(settings.send_circuit_failures, settings.send_circuit_seconds),
        hold_margin_seconds=settings.send_hold_margin_seconds,
    )


def send_relay(
    settings: Settings,
    sessions: sessionmaker[Session],
    publish: PublishSend,
    readers: sessionmaker[Session] | None = None,
) -> SendRelay:
    sizes: Mapping[str, int] = {
        name: p.side.max_batch for name, p in send_providers(settings).items()
    }
    return SendRelay(
        sessions,
        publish,
        SendRelayPolicy(redelivery_seconds=settings.send_redelivery_seconds),
        sizes,
        readers=readers,
    )
