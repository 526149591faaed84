"""Smoke tests for the fault-injection harness: private servers and the fault proxy."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import uuid
from collections.abc import Iterator

import psycopg
import pytest
import redis
from kombu import Connection, Exchange, Queue

from support.servers import (
    RESERVED_PORTS,
    FaultProxy,
    PostgresServer,
    RabbitServer,
    RedisServer,
    epmd_names,
    port_open,
)

pytestmark = pytest.mark.faults

SHARED = {5432: "PostgreSQL", 6379: "Redis", 5672: "RabbitMQ"}


@pytest.fixture(scope="module", autouse=True)
def shared_services_untouched() -> Iterator[None]:
    """Whatever ran here, the machine's own services are still up afterwards."""
    before = {port: port_open(port) for port in SHARED}
    yield
    assert {port: port_open(port) for port in SHARED} == before


@pytest.fixture(scope="module")
def rabbit() -> Iterator[RabbitServer]:
    with RabbitServer() as server:
        yield server.start()


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server.start()


def ping(sock: socket.socket) -> bytes:
    sock.sendall(b"PING\r\n")
    return sock.recv(64)


def assert_cut(sock: socket.socket) -> None:
    """The proxy cut ``sock``: it reads EOF or gets a reset."""
    sock.settimeout(2)
    with contextlib.suppress(ConnectionError):
        assert ping(sock) == b""


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


# -- servers ---------------------------------------------------------------------------------


def test_redis_restart_loses_data(redis_server: RedisServer) -> None:
    assert redis_server.port not in RESERVED_PORTS
    client = redis.Redis.from_url(redis_server.url, socket_timeout=5)
    try:
        client.set("key", "value")
        assert client.get("key") == b"value"
        port = redis_server.port
        redis_server.restart()
        assert redis_server.port == port
        assert client.get("key") is None  # redis-py reconnects; the data is gone
    finally:
        client.close()


def test_redis_close_removes_everything() -> None:
    server = RedisServer().start()
    workdir, port = server.dir, server.port
    server.close()
    assert not workdir.exists()
    assert not port_open(port)
    server.close()  # idempotent


def test_postgres_immediate_stop_keeps_committed_rows() -> None:
    with PostgresServer() as pg:
        pg.start()
        with psycopg.connect(pg.url, autocommit=True) as conn:
            assert conn.execute("SHOW fsync").fetchone() == ("on",)
            conn.execute("CREATE TABLE t (id int PRIMARY KEY, note text)")
            conn.execute("INSERT INTO t VALUES (1, 'committed')")
        pg.stop("immediate")
        assert not port_open(pg.port)
        pg.start()
        with psycopg.connect(pg.url) as conn:
            assert conn.execute("SELECT note FROM t").fetchall() == [("committed",)]
        assert "not properly shut down" in pg.log.read_text()  # crash recovery ran
        pg.restart("fast")
        with psycopg.connect(pg.url) as conn:
            assert conn.execute("SELECT count(*) FROM t").fetchone() == (1,)
        workdir = pg.dir
    assert not workdir.exists()


@pytest.mark.xdist_group("harness-rabbitmq")  # the module's node, started once
def test_rabbit_restart_keeps_persistent_message(rabbit: RabbitServer) -> None:
    assert {rabbit.port, rabbit.dist_port}.isdisjoint(RESERVED_PORTS)
    name = f"harness-{uuid.uuid4().hex[:8]}"
    queue = Queue(name, Exchange(name, type="direct", durable=True), routing_key=name)
    with Connection(rabbit.url, connect_timeout=5) as conn:
        producer = conn.Producer()
        producer.publish(
            {"n": 1},
            exchange=queue.exchange,
            routing_key=name,
            declare=[queue],
            delivery_mode=2,
            serializer="json",
        )
    assert name in rabbit.ctl("list_queues", "name")

    rabbit.restart()
    names = epmd_names()
    assert names is not None
    assert rabbit.node.split("@")[0] in names

    with Connection(rabbit.url, connect_timeout=5) as conn:
        message = queue(conn.default_channel).get(no_ack=True)
        assert message is not None
        assert message.decode() == {"n": 1}


@pytest.mark.xdist_group("harness-rabbitmq")
def test_rabbit_kill_and_start(rabbit: RabbitServer) -> None:
    rabbit.kill()
    assert not port_open(rabbit.port)
    names = epmd_names()
    assert names is not None
    assert rabbit.node.split("@")[0] not in names
    rabbit.start()
    with Connection(rabbit.url, connect_timeout=5) as conn:
        conn.connect()
        assert conn.connected


# -- fault proxy ----------------------------------------------------------------------------


def test_proxy_forwards_large_payloads(redis_server: RedisServer) -> None:
    with FaultProxy("127.0.0.1", redis_server.port) as proxy:
        client = redis.Redis.from_url(proxy.url_for(redis_server.url), socket_timeout=5)
        try:
            blob = os.urandom(3 * 1024 * 1024)
            client.set("blob", blob)
            assert client.get("blob") == blob
        finally:
            client.close()


def test_proxy_blackhole_hangs_and_forward_resumes(redis_server: RedisServer) -> None:
    with FaultProxy("127.0.0.1", redis_server.port) as proxy:
        existing = socket.create_connection(proxy.address, 2)
        assert ping(existing) == b"+PONG\r\n"

        proxy.set_mode("blackhole")
        existing.settimeout(0.3)
        with pytest.raises(TimeoutError):
            ping(existing)
        fresh = socket.create_connection(proxy.address, 2)  # accepted...
        fresh.settimeout(0.3)
        with pytest.raises(TimeoutError):
            ping(fresh)  # ...but never answered

        proxy.set_mode("forward")  # the partition heals: both get their answers
        existing.settimeout(2)
        fresh.settimeout(2)
        assert existing.recv(64) == b"+PONG\r\n"
        assert fresh.recv(64) == b"+PONG\r\n"
        existing.close()
        fresh.close()


def test_proxy_refuse_then_forward(redis_server: RedisServer) -> None:
    with FaultProxy("127.0.0.1", redis_server.port) as proxy:
        existing = socket.create_connection(proxy.address, 2)
        assert ping(existing) == b"+PONG\r\n"
        proxy.set_mode("refuse")
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(proxy.address, 2)
        assert_cut(existing)
        existing.close()
        proxy.set_mode("forward")
        with socket.create_connection(proxy.address, 2) as again:
            assert ping(again) == b"+PONG\r\n"


def test_proxy_drop_resets_existing_connections_only(redis_server: RedisServer) -> None:
    with FaultProxy("127.0.0.1", redis_server.port) as proxy:
        existing = socket.create_connection(proxy.address, 2)
        assert ping(existing) == b"+PONG\r\n"
        proxy.set_mode("drop")
        assert proxy.mode == "forward"
        assert_cut(existing)
        existing.close()
        with socket.create_connection(proxy.address, 2) as fresh:
            assert ping(fresh) == b"+PONG\r\n"


def test_proxy_to_dead_upstream_closes_client(redis_server: RedisServer) -> None:
    with FaultProxy("127.0.0.1", redis_server.port) as proxy:
        redis_server.stop()
        # The cut may come while connecting (a reset during the handshake) or after.
        with (
            contextlib.suppress(ConnectionError),
            socket.create_connection(proxy.address, 2) as sock,
        ):
            assert_cut(sock)


def test_proxy_close_leaks_no_threads_or_sockets(redis_server: RedisServer) -> None:
    threads, fds = threading.active_count(), open_fds()
    proxy = FaultProxy("127.0.0.1", redis_server.port).start()
    clients = [socket.create_connection(proxy.address, 2) for _ in range(5)]
    for sock in clients:
        assert ping(sock) == b"+PONG\r\n"
    proxy.set_mode("blackhole")
    proxy.close()
    for sock in clients:
        sock.close()
    assert threading.active_count() == threads
    assert open_fds() == fds
    assert not port_open(proxy.port)
    proxy.close()  # idempotent
