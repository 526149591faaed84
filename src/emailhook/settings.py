"""The one typed settings object: the only reader of environment variables."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    Field,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    SecretStr,
    ValidationInfo,
    create_model,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from emailhook.providers.base import Provider, ProviderSetting
from emailhook.providers.registry import BY_NAME, PROVIDERS


@dataclass(frozen=True, slots=True)
class SecretFor:
    """Marks a setting as secret, and says who reads it: the one registry of secrets.

    Validation splits every such setting into a list, redaction masks each of its values in
    log lines, and authentication finds its settings by ``reader``
    (:func:`secret_settings`).
    """

    reader: Literal["webhook", "operators", "infobip", "providers"]


#: A list of secrets from one variable: ``a,b`` (or a JSON array when a secret holds a comma).
#: Two entries let a secret rotate without downtime: add the new one, switch, drop the old one.
WebhookSecrets = Annotated[tuple[SecretStr, ...], NoDecode, SecretFor("webhook")]
OperatorSecrets = Annotated[tuple[SecretStr, ...], NoDecode, SecretFor("operators")]
#: Infobip API keys: the first is used; a second may be listed while rotating (both masked)
InfobipSecrets = Annotated[tuple[SecretStr, ...], NoDecode, SecretFor("infobip")]
HmacAlgorithm = Literal["md5", "sha1", "sha224", "sha256", "sha384", "sha512"]
#: a provider's secrets (``kind="secrets"``): lists, masked in logs, read by the provider
ProviderSecrets = Annotated[tuple[SecretStr, ...], NoDecode, SecretFor("providers")]
#: a provider's list of plain texts (``kind="texts"``), e.g. SNS topic ARNs
TextList = Annotated[tuple[str, ...], NoDecode]


def _provider_field(setting: ProviderSetting) -> tuple[Any, Any]:
    """Return the (type, field) of one provider setting, typed by its kind."""
    if setting.kind == "secrets":
        return ProviderSecrets, Field(default=(), description=setting.help)
    if setting.kind == "texts":
        return TextList, Field(default=(), description=setting.help)
    if setting.kind == "number":
        return PositiveFloat | None, Field(default=setting.default, description=setting.help)
    return str | None, Field(default=setting.default, description=setting.help)


def provider_field_name(provider: type[Provider], setting: ProviderSetting) -> str:
    """Return the Settings field of a provider's setting (its variable: EMAILHOOK_<field>)."""
    return f"{provider.name}_{setting.name}"


#: every provider's settings as fields of Settings, named ``<provider>_<setting>`` so that the
#: one env source reads ``EMAILHOOK_<PROVIDER>_<SETTING>`` and validates them like the rest
_PROVIDER_FIELDS: dict[str, tuple[Any, Any]] = {
    provider_field_name(provider, setting): _provider_field(setting)
    for provider in PROVIDERS
    for setting in provider.settings
}
#: settings read as lists from one variable (``a,b`` or a JSON array)
_TEXT_LISTS = frozenset(
    provider_field_name(provider, setting)
    for provider in PROVIDERS
    for setting in provider.settings
    if setting.kind == "texts"
)

if TYPE_CHECKING:
    _WithProviders = BaseSettings
else:
    _WithProviders = create_model("_WithProviders", __base__=BaseSettings, **_PROVIDER_FIELDS)


class Settings(_WithProviders):
    """emailhook's configuration, read from ``EMAILHOOK_*`` (and a few conventional) variables."""

    model_config = SettingsConfigDict(
        env_prefix="EMAILHOOK_",
        extra="ignore",
        frozen=True,
        # A refused setting must not print its value: it may be a secret (or hold one, a URL).
        hide_input_in_errors=True,
    )

    #: ``production`` refuses to start without webhook authentication and disables the
    #: dashboard and query API without operator credentials; ``development`` allows both
    env: Literal["development", "production"] = "development"
    #: where the embedded default keeps its SQLite database and queue folder
    data_dir: Path = Path("var")
    #: the database (``postgresql://user@host/db``, psycopg 3); unset: the embedded SQLite file
    #: ``emailhook.db`` in the data directory. Every host of a deployment uses the same one
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "EMAILHOOK_DATABASE_URL")
    )
    #: Celery's broker (``redis://host:6379/0``, ``amqp://user:pass@host//``); unset: the
    #: embedded folder queue in the data directory (one machine only)
    broker_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("CELERY_BROKER_URL", "EMAILHOOK_BROKER_URL"),
    )
    #: largest body accepted; Infobip sends up to 2000 reports with long callbackData
    max_body_bytes: PositiveInt = 16 * 1024 * 1024
    #: run migrations when a process starts (off when a deploy step runs ``emailhook db upgrade``)
    auto_migrate: bool = True
    #: where every process writes its Prometheus metrics (default: ``metrics`` in the data
    #: directory); web and worker processes must share it for ``/metrics`` to show both
    metrics_dir: Path | None = None
    #: level of emailhook's log lines; DEBUG adds a line per accepted body
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    #: SQLite ``synchronous``: FULL survives power loss, NORMAL only process crashes
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    #: SQLite's page cache of each connection, MiB (``PRAGMA cache_size``; SQLite's own
    #: default is 2): the btrees every insert touches at random places stay in memory
    sqlite_cache_mb: PositiveInt = 2
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
    #: with ``intake=database``: how long a web request waits for the database before a 503
    web_lock_timeout_seconds: PositiveFloat = 1.0
    # --- the database and the broker ---
    #: the same wait for the worker and the relay, which retry afterwards
    worker_lock_timeout_seconds: PositiveFloat = 5.0
    #: PostgreSQL: how soon a connection whose peer vanished (a host cut off mid-transaction)
    #: is given up, by the server (idle in transaction) and by TCP, so its locks are released
    database_dead_peer_seconds: PositiveFloat = 30.0
    #: longest statement of the query API (PostgreSQL)
    query_timeout_seconds: PositiveFloat = 5.0
    #: broker connect/read timeout: a dead or silent broker never stalls a publish longer
    broker_timeout_seconds: PositiveFloat = 1.0

    # --- the worker and the relay ---
    #: CPU priority (nice, 0-19) of worker processes. Above 0 the web processes come first on
    #: a machine that runs both: answering Infobip is what must be fast, and what the worker
    #: has not stored yet waits safely in the inbox. 0: the same priority as the web
    worker_nice: int = Field(default=10, ge=0, le=19)
    #: run the relay (inbox -> queue) inside each Celery worker; off when it runs on its own
    relay_in_worker: bool = True
    #: bodies per queue message at most
    relay_batch_bodies: PositiveInt = 2000
    #: events per queue message at most (a message holds whole bodies, so one large body may
    #: pass it alone)
    relay_batch_events: PositiveInt = 5000
    #: how often the relay looks for bodies to publish when it found none
    relay_poll_seconds: PositiveFloat = 0.05
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

    # --- who may use the dashboard and the query API: HTTP Basic ---
    #: ``user:password`` of each operator; none: the dashboard and the query API are open in
    #: development and disabled (404) in production
    operator_users: OperatorSecrets = ()

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

    @field_validator("*", mode="before")
    @classmethod
    def _split_secrets(cls, value: object, info: ValidationInfo) -> object:
        """Read ``a,b`` or ``["a","b"]``; surrounding blanks and empty entries are dropped."""
        if info.field_name not in secret_settings() and info.field_name not in _TEXT_LISTS:
            return value
        if isinstance(value, str):
            text = value.strip()
            items = json.loads(text) if text.startswith("[") else text.split(",")
            value = items
        if isinstance(value, (list, tuple)):
            return tuple(
                item.strip() if isinstance(item, str) else item
                for item in value
                if not (isinstance(item, str) and not item.strip())
            )
        return value

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

    @field_validator("operator_users")
    @classmethod
    def _operator_user_password(cls, value: tuple[SecretStr, ...]) -> tuple[SecretStr, ...]:
        for credentials in value:
            user, colon, password = credentials.get_secret_value().partition(":")
            if not (user and colon and password):
                raise ValueError("each EMAILHOOK_OPERATOR_USERS entry is user:password")
        return value

    @field_validator("secret_header", "hmac_header")
    @classmethod
    def _header_name(cls, value: str) -> str:
        name = value.strip()
        if not name or not all(c.isalnum() or c in "-_" for c in name):
            raise ValueError(f"not an HTTP header name: {value!r}")
        return name

    # --- the suppression rule ---
    #: this many soft bounces of one address within the window below put it on the
    #: suppression list (hard bounces, complaints and unsubscribes need one event)
    soft_bounce_limit: PositiveInt = 3
    #: the window of that rule, in days
    soft_bounce_window_days: PositiveFloat = 7.0
    #: a soft-bounce suppression ends this many days after the latest bounce that met the
    #: rule, or at a later delivery; 0 keeps it until an operator removes it
    soft_bounce_suppression_days: NonNegativeFloat = 30.0

    def provider_values(self, name: str) -> dict[str, Any]:
        """Return a provider's setting values by setting name, as its ``__init__`` takes them:
        secrets and texts as tuple[str, ...], text as str | None, number as float."""
        provider = BY_NAME[name]
        values: dict[str, Any] = {}
        for setting in provider.settings:
            value = getattr(self, provider_field_name(provider, setting))
            if setting.kind == "secrets":
                value = tuple(secret.get_secret_value() for secret in value)
            values[setting.name] = value
        return values

    def provider_enabled(self, name: str) -> bool:
        """True when one of the provider's ``enabled_by`` settings is set (Infobip: always)."""
        provider = BY_NAME[name]
        values = self.provider_values(name)
        return not provider.enabled_by or any(values[n] for n in provider.enabled_by)

    @property
    def resolved_database_url(self) -> str:
        """Return DATABASE_URL, or the embedded SQLite file under the data directory."""
        if self.database_url:
            return _with_psycopg_driver(self.database_url)
        return f"sqlite:///{(self.data_dir / 'emailhook.db').resolve()}"

    def retentions_set(self) -> bool:
        """Return True when anything has a retention (bodies, failed bodies, raw events, events)."""
        return any(
            days is not None
            for days in (
                self.inbox_retention_days,
                self.failed_body_retention_days,
                self.raw_event_retention_days,
                self.event_retention_days,
            )
        )

    @property
    def uses_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def resolved_broker_url(self) -> str:
        """Return CELERY_BROKER_URL, or the embedded folder queue under the data directory."""
        return self.broker_url or "filesystem://"

    @property
    def resolved_metrics_dir(self) -> Path:
        return (self.metrics_dir or self.data_dir / "metrics").resolve()

    @property
    def resolved_spool_dir(self) -> Path:
        return (self.spool_dir or self.data_dir / "spool").resolve()

    @property
    def queue_dir(self) -> Path:
        return (self.data_dir / "queue").resolve()

    @property
    def infobip_api(self) -> tuple[str, str] | None:
        """Return Infobip's base URL and API key, or None while either is not set."""
        if not self.infobip_base_url or not self.infobip_api_key:
            return None
        return self.infobip_base_url, self.infobip_api_key[0].get_secret_value()

    @property
    def is_embedded_broker(self) -> bool:
        return self.resolved_broker_url.startswith("filesystem://")


def secret_settings(reader: str | None = None) -> dict[str, str]:
    """Return every secret setting's name (of ``reader``, or all) and who reads it."""
    found: dict[str, str] = {}
    for name, field in Settings.model_fields.items():
        for mark in field.metadata:
            if isinstance(mark, SecretFor) and reader in (None, mark.reader):
                found[name] = mark.reader
    return found


def secret_values(settings: Settings) -> Iterator[str]:
    """Yield the plain value of every secret the settings hold."""
    for name in secret_settings():
        for secret in getattr(settings, name):
            yield secret.get_secret_value()


def variable_of(name: str) -> str:
    """Return the environment variable of the setting ``name``."""
    return f"EMAILHOOK_{name.upper()}"


def _with_psycopg_driver(url: str) -> str:
    # ``postgresql://`` would pick psycopg2; this project ships psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
