"""The send pipeline's settings: who may send, through which provider, the public URL its
reports come back to, idempotency, the pace of sends and their retries."""

from __future__ import annotations

from pydantic import NonNegativeFloat, PositiveFloat, PositiveInt
from pydantic_settings import BaseSettings

from emailhook.settings.types import SendSecrets, TextList


class SendSettings(BaseSettings):
    """Part of :class:`~emailhook.settings.Settings`: the send pipeline's settings."""

    #: ``Authorization: Bearer`` keys of the send API (``POST /messages``); a list, so that a
    #: key rotates without downtime. None: the send API answers 404 naming this setting
    send_api_keys: SendSecrets = ()
    #: the provider a message goes through when its request names none (``infobip``)
    send_provider: str | None = "infobip"
    #: failover: the providers a message may go through, in order (``infobip,amazon_ses``);
    #: set, it is the route of every request that names no provider, and a provider whose
    #: circuit is open (see below) passes its messages to the next. Unset: EMAILHOOK_SEND_PROVIDER
    send_providers: TextList = ()
    #: provider failures in a row (5xx, no connection, a timeout) that open its circuit
    send_circuit_failures: PositiveInt = 5
    #: seconds a provider's circuit stays open before a probe may close it
    send_circuit_seconds: PositiveFloat = 60.0
    #: this service's public origin (``https://hooks.example.com``): providers post reports
    #: to it and unsubscribe links point at it; unset: no report URL, no List-Unsubscribe
    public_url: str | None = None
    #: how long an ``Idempotency-Key`` and its answer are kept (hours)
    idempotency_hours: PositiveInt = 24
    #: largest ``POST /campaigns`` upload (bytes): read a line at a time, never held whole
    #: (a million recipients of a few fields each are some 150 MB)
    campaign_max_upload_bytes: PositiveInt = 2 * 1024 * 1024 * 1024
    #: a running campaign whose complaints pass this share of its delivered messages is
    #: logged as a warning (Gmail and Yahoo want spam rates under 0.1 %)
    campaign_complaint_warn_rate: PositiveFloat = 0.001
    #: ... and past this share it is paused until an operator resumes it (they reject bulk
    #: mail past 0.3 %)
    campaign_complaint_pause_rate: PositiveFloat = 0.003
    #: a running campaign whose hard bounces pass this share of its messages with an outcome
    #: is paused until an operator resumes it
    campaign_hard_bounce_pause_rate: PositiveFloat = 0.05
    #: the guards judge a campaign only once this many of its messages were delivered
    campaign_guard_min_delivered: PositiveInt = 1000
    #: the domain guard's rolling window (hours): the same thresholds judge every message
    #: sent from a campaign's sending domain (its ``from`` address's) in this window, and
    #: pause every running campaign sending from it (a day: mailbox providers' spam rates
    #: are daily figures)
    campaign_domain_window_hours: PositiveFloat = 24.0
    #: how often a worker judges the running campaigns (seconds; 0 turns the guards off)
    campaign_guard_seconds: NonNegativeFloat = 60.0
    #: Infobip send requests per second, shared by every worker and host (a token bucket)
    infobip_send_rate: PositiveFloat = 100.0
    #: an SMTP relay that sends as the provider ``smtp``: ``smtp://user:password@host:587``
    #: (STARTTLS when the relay offers it, and required before a password is sent) or
    #: ``smtps://...:465`` (TLS from the first byte); a secret (masked in logs), the first used
    smtp_url: SendSecrets = ()
    #: SMTP sessions per second (each sends up to 50 messages), shared by every worker
    smtp_send_rate: PositiveFloat = 10.0
    #: secrets that sign one-click unsubscribe tokens; the first signs, any verifies
    unsubscribe_secrets: SendSecrets = ()
    #: a message is dead-lettered after this many failed attempts
    send_max_attempts: PositiveInt = 8
    #: a message published and not sent this long after is published again
    send_redelivery_seconds: PositiveFloat = 60.0
    #: after an ambiguous failure, how long the provider's logs get before being asked
    send_lookup_grace_seconds: PositiveFloat = 10.0
    #: how long a worker's hold on the messages it took lasts past its call's own bound (two
    #: send timeouts and the lookup grace): a worker that dies mid-call leaves them to the
    #: next one after that; a stalled worker that outlives its hold sends nothing (the hold
    #: is its fencing token), so a short margin costs lookups, never a second copy
    send_hold_margin_seconds: PositiveFloat = 30.0
    #: seconds a provider's send call may take; past it the call's fate is uncertain and the
    #: provider is asked (its logs) before the message is sent again
    send_timeout_seconds: PositiveFloat = 30.0
