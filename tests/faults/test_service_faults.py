"""Faults of the services around us, each on a private instance on a spare port.

Brokers stopped, restarted (Redis losing its data), or hung (a blackhole socket); PostgreSQL
restarted like a crash. Every scenario keeps a ledger and checks that each event answered
200 is stored exactly once after the service comes back.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.ledger import (
    Background,
    assert_exactly_once,
    make_bodies,
    publish,
    stored_events,
)
from support.servers import FaultProxy, PostgresServer, RabbitServer, RedisServer
from support.services import fresh_postgres_database
from support.stack import StackFactory

pytestmark = pytest.mark.faults

#: the acceptance bound of the reliability issue: a broken broker never slows an answer past it
ACCEPTANCE_BOUND_SECONDS = 1.5


@pytest.fixture
def shared_postgres() -> Iterator[str]:
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture(scope="module")
def rabbit() -> Iterator[RabbitServer]:
    with RabbitServer().start() as server:
        yield server


def rabbit_of(request: pytest.FixtureRequest) -> RabbitServer:
    """The module's RabbitMQ node, started only for a scenario on RabbitMQ (a pytest-xdist
    worker that runs none of them starts none)."""
    server: RabbitServer = request.getfixturevalue("rabbit")
    return server


def test_redis_restarted_losing_its_data_loses_nothing(
    make_stack: StackFactory, shared_postgres: str
) -> None:
    with RedisServer().start() as redis:
        stack = make_stack(shared_postgres, redis.url).start()
        bodies = make_bodies(400)
        with Background(stack.base_url, bodies, duration=8) as load:
            load.wait_answered(100)  # 2 s of the load
            redis.stop()  # queued and unacked messages are gone with it
            load.wait_answered(100)  # accepted while Redis is down
            redis.restart()
        stack.wait_until_drained(timeout=90)

        assert load.ledger.statuses == {200: len(bodies)}
        assert load.ledger.max_latency < ACCEPTANCE_BOUND_SECONDS, load.ledger.summary()
        assert_exactly_once(load.ledger, stored_events(stack.engine))
        publish("redis-restart-data-lost", load.ledger, stack.count_events(), stack.label)


def test_rabbitmq_stopped_and_restarted_loses_nothing(
    make_stack: StackFactory, shared_postgres: str, rabbit: RabbitServer
) -> None:
    stack = make_stack(shared_postgres, rabbit.url).start()
    bodies = make_bodies(400)
    with Background(stack.base_url, bodies, duration=10) as load:
        load.wait_answered(80)  # 2 s of the load
        rabbit.kill()  # as a crash: no clean close of connections
        load.wait_answered(80)  # accepted while RabbitMQ is down
        rabbit.start()
    stack.wait_until_drained(timeout=120)

    assert load.ledger.statuses == {200: len(bodies)}
    assert load.ledger.max_latency < ACCEPTANCE_BOUND_SECONDS, load.ledger.summary()
    assert_exactly_once(load.ledger, stored_events(stack.engine))
    publish("rabbitmq-crash-restart", load.ledger, stack.count_events(), stack.label)


@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_a_broker_that_accepts_but_never_answers_keeps_acceptance_fast(
    make_stack: StackFactory,
    shared_postgres: str,
    request: pytest.FixtureRequest,
    broker: str,
    tmp_path: Path,
) -> None:
    with RedisServer().start() as redis:
        target = redis if broker == "redis" else rabbit_of(request)
        with FaultProxy("127.0.0.1", target.port).start() as proxy:
            stack = make_stack(shared_postgres, proxy.url_for(target.url)).start()
            bodies = make_bodies(400)
            with Background(stack.base_url, bodies, duration=8) as load:
                load.wait_answered(100)  # 2 s of the load
                proxy.set_mode("blackhole")  # connections stay open; nothing comes back
                load.wait_answered(200)  # 4 s of accepting while the broker hangs
                proxy.set_mode("drop")  # the hung connections die; new ones work again
            stack.wait_until_drained(timeout=120)

            assert load.ledger.statuses == {200: len(bodies)}
            assert load.ledger.max_latency < ACCEPTANCE_BOUND_SECONDS, load.ledger.summary()
            assert_exactly_once(load.ledger, stored_events(stack.engine))
            publish(f"{broker}-blackhole", load.ledger, stack.count_events(), stack.label)


@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_postgres_crashed_and_restarted_loses_nothing(
    make_stack: StackFactory, request: pytest.FixtureRequest, broker: str
) -> None:
    with PostgresServer().start() as postgres, RedisServer().start() as redis:
        broker_url = redis.url if broker == "redis" else rabbit_of(request).url
        stack = make_stack(postgres.url, broker_url).start()
        bodies = make_bodies(400)
        with Background(stack.base_url, bodies, duration=8) as load:
            load.wait_answered(100)  # 2 s of the load
            postgres.stop(mode="immediate")  # a crash: no shutdown checkpoint
            load.wait_answered(100)  # accepted while PostgreSQL is down
            postgres.start()
        stack.wait_until_drained(timeout=120)

        # The web processes spool to local disk: the database being down changes no answer,
        # and what they spooled meanwhile is moved once it is back.
        assert load.ledger.statuses == {200: len(bodies)}, load.ledger.summary()
        assert load.ledger.max_latency < ACCEPTANCE_BOUND_SECONDS, load.ledger.summary()
        assert_exactly_once(load.ledger, stored_events(stack.engine))
        publish(f"postgres-crash-restart+{broker}", load.ledger, stack.count_events(), stack.label)
