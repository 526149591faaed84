"""One set of hosts for the module (namespaces, PostgreSQL and Redis on ``db``), fresh processes
and a fresh database for each scenario; every ledger line in pytest's summary."""

from __future__ import annotations

import glob
import shutil
from collections.abc import Iterator

import pytest

from support.cluster import Cluster
from support.hosts import Network, unavailable
from support.ledger import HOSTS_PUBLISHED
from support.services import REQUIRED


def _require_netns() -> None:
    """Skip without root / ip netns / the servers; fail instead when CI requires ``netns``."""
    reason = unavailable()
    if reason is None and not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        reason = "no PostgreSQL server binaries (apt-get install postgresql)"
    if reason is None and shutil.which("redis-server") is None:
        reason = "no redis-server (apt-get install redis-server)"
    if reason is None:
        return
    message = f"multi-host tests skipped: {reason}"
    if "netns" in REQUIRED:
        pytest.fail(f"{message} (required by EMAILHOOK_TEST_REQUIRE)")
    pytest.skip(message)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    _require_netns()
    network = Network()
    try:
        hosts = Cluster(network, tmp_path_factory.mktemp("hosts"))
        try:
            yield hosts
        finally:
            hosts.close()
    finally:
        network.close()


@pytest.fixture
def scenario(cluster: Cluster, request: pytest.FixtureRequest) -> Iterator[Cluster]:
    """The cluster with a fresh database, empty Redis and new processes on every host."""
    try:
        cluster.begin(request.node.name.removeprefix("test_")[:40])
        yield cluster
    finally:
        try:
            cluster.net.heal()
        finally:
            cluster.end()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if HOSTS_PUBLISHED:
        terminalreporter.section("multi-host ledgers")
        for line in HOSTS_PUBLISHED:
            terminalreporter.write_line(line)
