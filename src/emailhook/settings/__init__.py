"""The one typed settings object: the only reader of environment variables.

``types`` holds the kinds of values (lists of secrets marked with their reader), ``providers``
every provider's own settings, added to this object as fields."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    AliasChoices,
    Field,
    PositiveFloat,
    PositiveInt,
    SecretStr,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import SettingsConfigDict

from emailhook.providers.registry import BY_NAME
from emailhook.settings.providers import TEXT_LISTS, WithProviders, provider_field_name
from emailhook.settings.receive import ReceiveSettings
from emailhook.settings.send import SendSettings
from emailhook.settings.types import OperatorSecrets, SecretFor

__all__ = ["Settings", "provider_field_name", "secret_settings", "secret_values", "variable_of"]


class Settings(ReceiveSettings, SendSettings, WithProviders):
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
    # --- timeouts, and the worker's priority ---
    #: with ``intake=database``: how long a web request waits for the database before a 503
    web_lock_timeout_seconds: PositiveFloat = 1.0
    #: threads of each ``emailhook serve`` process that run Flask for everything but the
    #: webhooks (query API, dashboard, ops), which its event loop answers (``serve --threads``)
    web_threads: PositiveInt = 8
    #: the same wait for the worker and the relay, which retry afterwards
    worker_lock_timeout_seconds: PositiveFloat = 5.0
    #: PostgreSQL: how soon a connection whose peer vanished (a host cut off mid-transaction)
    #: is given up, by the server (idle in transaction) and by TCP, so its locks are released
    database_dead_peer_seconds: PositiveFloat = 30.0
    #: longest statement of the query API (PostgreSQL)
    query_timeout_seconds: PositiveFloat = 5.0
    #: broker connect/read timeout: a dead or silent broker never stalls a publish longer
    broker_timeout_seconds: PositiveFloat = 1.0

    #: CPU priority (nice, 0-19) of worker processes and of ``serve``'s spool mover. Above 0
    #: the web processes come first on a machine that runs both: answering Infobip is what
    #: must be fast, and what waits is safe in the inbox (or, synced, in the spool). 0: the
    #: same priority as the web
    worker_nice: int = Field(default=10, ge=0, le=19)

    # --- who may use the dashboard and the query API: HTTP Basic ---
    #: ``user:password`` of each operator; none: the dashboard and the query API are open in
    #: development and disabled (404) in production
    operator_users: OperatorSecrets = ()

    @field_validator("*", mode="before")
    @classmethod
    def _split_secrets(cls, value: object, info: ValidationInfo) -> object:
        """Read ``a,b`` or ``["a","b"]``; surrounding blanks and empty entries are dropped."""
        if info.field_name not in secret_settings() and info.field_name not in _LISTS:
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

    @field_validator("operator_users")
    @classmethod
    def _operator_user_password(cls, value: tuple[SecretStr, ...]) -> tuple[SecretStr, ...]:
        for credentials in value:
            user, colon, password = credentials.get_secret_value().partition(":")
            if not (user and colon and password):
                raise ValueError("each EMAILHOOK_OPERATOR_USERS entry is user:password")
        return value

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
    def spool_moved_by_worker(self) -> bool:
        """True when a worker's sweep moves every segment of its machine's spool folder, live
        ones too (``worker``; ``auto``, where it runs)."""
        return self.spool_mover != "web"

    @property
    def spool_moved_by_web(self) -> bool:
        """True when web processes move their own spool (``web``; ``auto`` off SQLite, while
        no worker of their machine moves it)."""
        return self.spool_mover == "web" or (self.spool_mover == "auto" and not self.uses_sqlite)

    @property
    def spool_mover_beside_web(self) -> bool:
        """True when ``emailhook serve`` starts a mover process beside its server (``auto``
        off SQLite, the spool in use): the web moves there, but not in its answering
        processes while that process runs."""
        return self.intake == "spool" and self.spool_mover == "auto" and not self.uses_sqlite

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


#: settings read as lists of plain texts from one variable
_LISTS = TEXT_LISTS | {"send_providers"}


def variable_of(name: str) -> str:
    """Return the environment variable of the setting ``name``."""
    return f"EMAILHOOK_{name.upper()}"


def _with_psycopg_driver(url: str) -> str:
    # ``postgresql://`` would pick psycopg2; this project ships psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
