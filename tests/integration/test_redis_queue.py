"""The Redis queue survives the close that Celery runs when Redis drops the connection."""

from __future__ import annotations

import pytest
from kombu import Connection, Queue

from emailhook.adapters.broker.config import broker_config
from emailhook.settings import Settings

pytestmark = pytest.mark.redis

STOCK = "redis"
OURS = "emailhook.adapters.broker.redis_queue:Transport"


def _hold_an_unacked_message(url: str, transport: str) -> Connection:
    """A connection whose channel holds one delivered, unacknowledged message."""
    connection = Connection(url, transport=transport)
    queue = Queue("emailhook-test-close", routing_key="emailhook-test-close")
    producer = connection.Producer()
    producer.publish({"n": 1}, routing_key=queue.routing_key, declare=[queue])
    consumer = connection.SimpleQueue(queue)
    consumer.get(timeout=5)  # delivered, not acked: the channel must restore it on close
    return connection


def _close_after_the_transport_was_detached(connection: Connection) -> None:
    # What Celery's reconnect path leaves behind when collect() runs out of time: the
    # transport is detached from the connection, and then the connection is closed.
    connection._do_close_transport()
    connection.close()


def test_stock_kombu_raises_an_unrecoverable_error_there(redis_url: str) -> None:
    # The reason redis_queue exists: if kombu fixes this, this test says so.
    connection = _hold_an_unacked_message(redis_url, STOCK)
    with pytest.raises(AttributeError):
        _close_after_the_transport_was_detached(connection)


def test_our_transport_closes_quietly_there(redis_url: str) -> None:
    connection = _hold_an_unacked_message(redis_url, OURS)
    _close_after_the_transport_was_detached(connection)


def test_redis_urls_get_our_transport(redis_url: str) -> None:
    config = broker_config(Settings.model_validate({"CELERY_BROKER_URL": redis_url}))
    assert config["broker_transport"] == OURS
    with Connection(redis_url, transport=config["broker_transport"]) as connection:
        connection.ensure_connection(max_retries=1)
        assert connection.transport.driver_type == "redis"
