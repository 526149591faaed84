"""Reachability checks of the database and the broker, each bounded by a short timeout."""

from __future__ import annotations

import math

from kombu import Connection
from sqlalchemy import Engine, text

from emailhook.adapters.broker.config import broker_config
from emailhook.settings import Settings


def check_database(engine: Engine) -> None:
    """Raise unless the database answers ``SELECT 1``."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def check_broker(settings: Settings) -> None:
    """Raise unless the broker accepts a connection within the broker timeout."""
    config = broker_config(settings)
    timeout = settings.broker_timeout_seconds
    with Connection(
        config["broker_url"],
        connect_timeout=timeout,
        transport_options=config.get("broker_transport_options", {}),
    ) as connection:
        connection.ensure_connection(
            max_retries=1, interval_start=0, interval_step=0, timeout=math.ceil(timeout)
        )
