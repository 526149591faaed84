"""The Redis queue: kombu's Redis transport, that lets a worker survive Redis going away.

When Redis drops the connection, Celery closes the broken connection and reconnects. If the
close runs out of time (a busy machine), kombu has already detached the transport from its
connection when the consumer's channel is closed; the channel then tries to put its
unacknowledged messages back, finds no connection parameters and raises ``AttributeError``.
Celery treats that as an unrecoverable error and the worker stops consuming (seen in the
fault suite: celery/celery#10205 and kombu#2007 are the same family). Here a channel whose
transport is gone raises a connection error instead, which Celery's reconnect path expects
and ignores. Nothing is lost: the messages stay in Redis' unacked set until the visibility
timeout brings them back, and the inbox relay republishes anything unfinished anyway.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError


class Channel(kombu_redis.Channel):
    def _connparams(self, asynchronous: bool = False) -> dict[str, Any]:
        transport = self.connection
        if transport is None or transport.client is None:
            raise RedisConnectionError("the broker connection is closed")
        # (celery-types stubs the public API only)
        params: dict[str, Any] = super()._connparams(asynchronous=asynchronous)  # type: ignore[misc]
        return params


class Transport(kombu_redis.Transport):
    Channel = Channel
