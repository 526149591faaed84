"""Broker settings for Celery: the embedded folder queue, Redis or RabbitMQ, never hanging."""

from __future__ import annotations

import math
from typing import Any

from kombu import Connection

from emailhook.settings import Settings

#: Redis reads block for up to a second in BRPOP; the socket must wait longer than that.
_REDIS_READ_TIMEOUT_SECONDS = 5.0


def broker_config(settings: Settings) -> dict[str, Any]:
    """Return the Celery settings that choose and tune the broker."""
    url = settings.resolved_broker_url
    timeout = settings.broker_timeout_seconds
    config: dict[str, Any] = {
        "broker_url": url,
        "broker_connection_timeout": timeout,
        "broker_connection_retry_on_startup": True,
    }
    if url.startswith("filesystem://"):
        folder = settings.queue_dir
        for sub in ("messages", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        config["broker_transport"] = "emailhook.adapters.broker.folder_queue:Transport"
        config["broker_transport_options"] = {
            "data_folder_in": str(folder / "messages"),
            "data_folder_out": str(folder / "messages"),
            "control_folder": str(folder / "control"),
            "polling_interval": 0.05,
        }
        # The folder queue has no broadcast: no remote control, no events.
        config["worker_enable_remote_control"] = False
    elif url.startswith(("redis://", "rediss://", "unix://")):
        if url.startswith(("redis://", "rediss://")):
            config["broker_transport"] = "emailhook.adapters.broker.redis_queue:Transport"
        config["broker_transport_options"] = {
            "socket_connect_timeout": timeout,
            "socket_timeout": max(timeout, _REDIS_READ_TIMEOUT_SECONDS),
            "visibility_timeout": 3600,
        }
    elif url.startswith(("amqp://", "amqps://", "pyamqp://")):
        # Publisher confirms: a publish returns only once RabbitMQ has taken the message.
        config["broker_transport_options"] = {"confirm_publish": True, "connect_timeout": timeout}
    return config


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
