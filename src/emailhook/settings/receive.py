"""The receive pipeline's settings: where a body is kept before the answer, the relay, the
retries and retentions, who may post a webhook, Infobip's API, the soft-bounce rule."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, NonNegativeFloat, PositiveFloat, PositiveInt, SecretStr, field_validator
from pydantic_settings import BaseSettings

from emailhook.settings.types import HmacAlgorithm, InfobipSecrets, WebhookSecrets


class ReceiveSettings(BaseSettings):
    """Part of :class:`~emailhook.settings.Settings`: the receive pipeline's settings."""

    # --- intake: where a body is kept before the 200 ---
    #: where ``POST /email`` keeps a body before answering 200: ``spool``, a file of the web
    #: process synced to disk and moved into the database in the background (fast, and
    #: answers while the database is down), or ``database``, committed before the answer
    #: (for web processes on disks that do not outlive them, such as a container's)
    intake: Literal["spool", "database"] = "spool"
    #: the spool folder (default: ``spool`` in the data directory); every web process of a
    #: machine shares it, so a restarted one moves what a stopped one left
    spool_dir: Path | None = None
    #: a spool file is replaced by a new one at this size, and deleted once moved
    spool_segment_bytes: PositiveInt = 16 * 1024 * 1024
    #: a web process syncs its spool file at most once per this many milliseconds while
    #: webhooks arrive: the bodies of the gap share one sync (the disk's and the kernel's
    #: work per sync is what limits a busy process). A body after a quiet gap is synced at
    #: once; under load an answer waits this long more at most. 0: a sync as soon as the
    #: last ended
    spool_sync_gap_ms: NonNegativeFloat = 1.0
    #: who moves spooled bodies into the inbox: ``web`` (each web process its own, on a thread
    #: beside its answers), ``worker`` (the worker's spool sweep, every tenth of a second, for
    #: every web process of its machine: the web answers with its CPU to itself, and bodies
    #: stay in the spool, synced, while no worker runs), or ``auto``: ``worker`` on SQLite
    #: (one machine); elsewhere the worker while one runs on the machine, and the web host
    #: while none does: a mover process ``emailhook serve`` starts beside its server, or the
    #: web processes themselves if it is gone
    spool_mover: Literal["auto", "web", "worker"] = "auto"

    # --- the relay ---
    #: run the relay (inbox -> queue) inside each Celery worker; off when it runs on its own
    relay_in_worker: bool = True
    #: bodies per queue message at most
    relay_batch_bodies: PositiveInt = 2000
    #: events per queue message at most (a message holds whole bodies, so one large body may
    #: pass it alone)
    relay_batch_events: PositiveInt = 5000
    #: how often the relay looks for bodies to publish when it found none
    relay_poll_seconds: PositiveFloat = 0.05
    #: how far apart the relay's looks grow while it finds nothing (doubling from
    #: relay_poll_seconds): an idle worker looks a few times a second, not twenty. Bodies the
    #: worker moves from the spool itself (the embedded default) wake it at once; elsewhere a
    #: body that ends a quiet spell waits this long at most before it is published
    relay_idle_poll_seconds: PositiveFloat = 0.4
    #: messages published and not yet processed, at most: keeps the broker's queue short
    relay_max_in_flight: PositiveInt = 8
    #: a body published this long ago and still pending is published again
    redelivery_seconds: PositiveFloat = 60.0
    # --- retention: what is kept, and for how long ---
    #: processed (DONE) inbox bodies older than this many days are pruned by the worker (and
    #: ``emailhook prune``): long enough to replay; their events, derived state and rollup
    #: stay. Empty keeps them for ever. A pruned body can no longer be replayed.
    inbox_retention_days: PositiveInt | None = 7
    #: dead-lettered and unrecognized bodies nobody replayed are pruned this many days after
    #: they were received; empty (the default): kept until an operator replays them
    failed_body_retention_days: PositiveInt | None = None
    #: an event received more than this many days ago loses its raw rest (``raw_rest``, what
    #: the columns do not give back); every column stays. Empty (the default): kept for ever
    raw_event_retention_days: PositiveInt | None = None
    #: an event received more than this many days ago is deleted; contact state, suppressions
    #: and the rollup keep what it made (and ``emailhook state rebuild`` then refuses without
    #: ``--force``). Empty (the default): kept for ever
    event_retention_days: PositiveInt | None = None
    #: how often a worker prunes (minutes); 0: only ``emailhook prune``
    prune_interval_minutes: float = Field(default=60.0, ge=0)
    # --- retries and dead letters ---
    #: a body is dead-lettered after failing this many times ...
    max_attempts: PositiveInt = 5
    #: ... or after being published this many times without completing (it kills the worker)
    max_deliveries: PositiveInt = 10
    #: first retry delay of a failed body; doubles per attempt up to the cap
    retry_backoff_seconds: PositiveFloat = 2.0
    #: the cap of that delay
    retry_backoff_max_seconds: PositiveFloat = 300.0

    # --- who may post: production refuses to start with none of them ---
    #: secret tokens accepted in the URL: ``POST /email/<token>`` or ``POST /email?token=``
    webhook_tokens: WebhookSecrets = ()
    #: HTTP Basic credentials, each ``user:password``
    basic_auth: WebhookSecrets = ()
    #: the name of a static shared-secret header (its values: the setting below)
    secret_header: str = "X-Webhook-Secret"  # noqa: S105 (a header name, not a secret)
    #: the values of that header accepted
    secret_header_values: WebhookSecrets = ()
    #: ``Authorization: Bearer <token>`` tokens
    bearer_tokens: WebhookSecrets = ()
    #: keys of an HMAC of the raw body (the header, algorithm and encoding: below)
    hmac_secrets: WebhookSecrets = ()
    #: the header carrying the HMAC; a label before the digest (``sha256=<hex>``) is ignored
    hmac_header: str = "X-Signature"
    #: the HMAC's hash algorithm
    hmac_algorithm: HmacAlgorithm = "sha256"
    #: how the HMAC is written: hex, or base64 (standard or URL-safe, padded or not)
    hmac_encoding: Literal["hex", "base64"] = "hex"
    #: JSON nesting allowed in a body; Infobip's deepest is 4 (results, report, status, ...)
    max_json_depth: PositiveInt = 32

    # --- Infobip's API (reconciliation, suppression sync): off without a key ---
    #: the account's base URL, ``https://xxxxx.api.infobip.com``
    infobip_base_url: str | None = None
    #: ``Authorization: App <key>``; needs the e-mail logs and suppressions scopes
    infobip_api_key: InfobipSecrets = ()
    #: how often the worker reconciles from Infobip's e-mail logs; 0 turns it off
    reconcile_interval_minutes: NonNegativeFloat = 15.0
    #: how often the worker imports Infobip's suppression list and blocklist; 0 turns it off
    suppression_sync_interval_minutes: NonNegativeFloat = 60.0
    #: also add our hard bounces and complaints to Infobip's suppression list (domains that
    #: allow it); off by default: Infobip's list then follows ours, for every sender
    infobip_export_suppressions: bool = False

    # --- the suppression rule ---
    #: this many soft bounces of one address within the window below put it on the
    #: suppression list (hard bounces, complaints and unsubscribes need one event)
    soft_bounce_limit: PositiveInt = 3
    #: the window of that rule, in days
    soft_bounce_window_days: PositiveFloat = 7.0
    #: a soft-bounce suppression ends this many days after the latest bounce that met the
    #: rule, or at a later delivery; 0 keeps it until an operator removes it
    soft_bounce_suppression_days: NonNegativeFloat = 30.0

    @field_validator(
        "inbox_retention_days",
        "failed_body_retention_days",
        "raw_event_retention_days",
        "event_retention_days",
        mode="before",
    )
    @classmethod
    def _keep_for_ever(cls, value: object) -> object:
        """An empty value (or ``never``) keeps processed bodies for ever."""
        if isinstance(value, str) and value.strip().lower() in ("", "never", "none"):
            return None
        return value

    @field_validator("basic_auth")
    @classmethod
    def _user_colon_password(cls, value: tuple[SecretStr, ...]) -> tuple[SecretStr, ...]:
        for credentials in value:
            if ":" not in credentials.get_secret_value():
                raise ValueError("each EMAILHOOK_BASIC_AUTH entry is user:password")
        return value

    @field_validator("secret_header", "hmac_header")
    @classmethod
    def _header_name(cls, value: str) -> str:
        name = value.strip()
        if not name or not all(c.isalnum() or c in "-_" for c in name):
            raise ValueError(f"not an HTTP header name: {value!r}")
        return name
