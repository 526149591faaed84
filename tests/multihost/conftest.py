"""One set of hosts for the module (namespaces, PostgreSQL and Redis on ``db``), fresh processes
and a fresh database for each scenario; every ledger line in pytest's summary."""

from __future__ import annotations

import glob
import shutil
from collections.abc import Iterator

import pytest

from support.cluster import Cluster
from support.hosts import Network, shaping_unavailable
from support.hosts import unavailable as netns_unavailable
from support.ledger import HOSTS_PUBLISHED
from support.services import unavailable
from support.stack import ahead_of_other_tests


def _require_netns() -> None:
    """Skip without root / ip netns / the servers; fail instead when CI requires ``netns``."""
    reason = netns_unavailable()
    if reason is None and not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        reason = "no PostgreSQL server binaries (apt-get install postgresql)"
    if reason is None and shutil.which("redis-server") is None:
        reason = "no redis-server (apt-get install redis-server)"
    if reason is not None:
        unavailable("netns", f"multi-host tests skipped: {reason}")


@pytest.fixture(scope="module", autouse=True)
def ahead() -> Iterator[None]:
    """The multi-host scenarios (their stacks, servers and load) run ahead of the suite's
    other workers: they assert answer latencies (support/stack.py, ahead_of_other_tests)."""
    with ahead_of_other_tests():
        yield


@pytest.fixture
def link_shaping() -> None:
    """Skip unless a link can be slowed (netem, or iptables for the NFQUEUE delay line); fail
    instead when CI requires ``netns`` (``.ci/run`` installs iptables)."""
    _require_netns()
    reason = shaping_unavailable()
    if reason is not None:
        unavailable("netns", f"link shaping skipped: {reason}")


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
