"""The one typed settings object: the only reader of environment variables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, PositiveFloat, PositiveInt, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: A list of secrets from one variable: ``a,b`` (or a JSON array when a secret holds a comma).
#: Two entries let a secret rotate without downtime: add the new one, switch, drop the old one.
Secrets = Annotated[tuple[SecretStr, ...], NoDecode]
HmacAlgorithm = Literal["md5", "sha1", "sha224", "sha256", "sha384", "sha512"]


class Settings(BaseSettings):
    """emailhook's configuration, read from ``EMAILHOOK_*`` (and a few conventional) variables."""

    model_config = SettingsConfigDict(
        env_prefix="EMAILHOOK_",
        extra="ignore",
        frozen=True,
        # A refused setting must not print its value: it may be a secret (or hold one, a URL).
        hide_input_in_errors=True,
    )

    env: Literal["development", "production"] = "development"
    #: where the embedded default keeps its SQLite database and queue folder
    data_dir: Path = Path("var")
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "EMAILHOOK_DATABASE_URL")
    )
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
    #: the same wait for the worker and the relay, which retry afterwards
    worker_lock_timeout_seconds: PositiveFloat = 5.0
    #: longest statement of the query API (PostgreSQL)
    query_timeout_seconds: PositiveFloat = 5.0
    #: broker connect/read timeout: a dead or silent broker never stalls a publish longer
    broker_timeout_seconds: PositiveFloat = 1.0

    #: CPU priority (nice, 0-19) of worker processes. Above 0 the web processes come first on
    #: a machine that runs both: answering Infobip is what must be fast, and what the worker
    #: has not stored yet waits safely in the inbox. 0: the same priority as the web
    worker_nice: int = Field(default=10, ge=0, le=19)
    #: run the relay (inbox -> queue) inside each Celery worker; off when it runs on its own
    relay_in_worker: bool = True
    #: bodies per queue message, and events per message at most
    relay_batch_bodies: PositiveInt = 2000
    relay_batch_events: PositiveInt = 5000
    #: how often the relay looks for bodies to publish when it found none
    relay_poll_seconds: PositiveFloat = 0.05
    #: messages published and not yet processed, at most: keeps the broker's queue short
    relay_max_in_flight: PositiveInt = 8
    #: a body published this long ago and still pending is published again
    redelivery_seconds: PositiveFloat = 60.0
    #: processed (DONE) inbox bodies older than this many days go with ``emailhook prune``;
    #: None keeps them for ever. A pruned body can no longer be replayed.
    inbox_retention_days: PositiveInt | None = None
    #: a body is dead-lettered after failing this many times ...
    max_attempts: PositiveInt = 5
    #: ... or after being published this many times without completing (it kills the worker)
    max_deliveries: PositiveInt = 10
    #: first retry delay of a failed body; doubles per attempt up to the cap
    retry_backoff_seconds: PositiveFloat = 2.0
    retry_backoff_max_seconds: PositiveFloat = 300.0

    # --- who may post (README "Security"); production refuses to start with none of them ---
    #: secret tokens accepted in the URL: ``POST /email/<token>`` or ``POST /email?token=``
    webhook_tokens: Secrets = ()
    #: HTTP Basic credentials, each ``user:password``
    basic_auth: Secrets = ()
    #: a static shared-secret header: its name, and the values accepted
    secret_header: str = "X-Webhook-Secret"  # noqa: S105 (a header name, not a secret)
    secret_header_values: Secrets = ()
    #: ``Authorization: Bearer <token>`` tokens
    bearer_tokens: Secrets = ()
    #: HMAC of the raw body: keys, the header carrying it, its algorithm and encoding
    hmac_secrets: Secrets = ()
    hmac_header: str = "X-Signature"
    hmac_algorithm: HmacAlgorithm = "sha256"
    hmac_encoding: Literal["hex", "base64"] = "hex"
    #: JSON nesting allowed in a body; Infobip's deepest is 4 (results, report, status, ...)
    max_json_depth: PositiveInt = 32

    # --- who may use the dashboard (README "Dashboard"); HTTP Basic, ``user:password`` each ---
    #: none: the dashboard is open in development and disabled (404) in production
    operator_users: Secrets = ()

    @field_validator(
        "webhook_tokens",
        "basic_auth",
        "secret_header_values",
        "bearer_tokens",
        "hmac_secrets",
        "operator_users",
        mode="before",
    )
    @classmethod
    def _split_secrets(cls, value: object) -> object:
        """Read ``a,b`` or ``["a","b"]``; surrounding blanks and empty entries are dropped."""
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

    #: this many soft bounces of one address within the window below put it on the
    #: suppression list (hard bounces, complaints and unsubscribes need one event)
    soft_bounce_limit: PositiveInt = 3
    soft_bounce_window_days: PositiveFloat = 7.0

    @property
    def resolved_database_url(self) -> str:
        """Return DATABASE_URL, or the embedded SQLite file under the data directory."""
        if self.database_url:
            return _with_psycopg_driver(self.database_url)
        return f"sqlite:///{(self.data_dir / 'emailhook.db').resolve()}"

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
    def is_embedded_broker(self) -> bool:
        return self.resolved_broker_url.startswith("filesystem://")


def _with_psycopg_driver(url: str) -> str:
    # ``postgresql://`` would pick psycopg2; this project ships psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
