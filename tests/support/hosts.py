"""Machines for the multi-host tests: Linux network namespaces cabled to a switch namespace.

Topology (every name carries the owner's pid: ``ehmh<pid>-<host>``)::

      lg ──┐ front (10.231.1.0/24)               back (10.231.2.0/24) ┌── db  PostgreSQL, Redis
           ├─[switch: bridge "front"]─ web1, web2 ─[bridge "back"]────┼── w1, w2  Celery + relay
           └──────────────────────────────────────────────────────────┴── lg (observer)

Web hosts have two cables: cutting ``back`` cuts them off from the database and the broker
while the load generator still reaches them on ``front``. A cable is pulled at the switch's end
(``Link.down``): the host keeps its address and route and its packets go nowhere, as when a
cable or a switch port fails. ``Link.shape`` adds delay and loss (``tc netem`` where the kernel
has it; support/delayline.py where it does not, as on this machine).

Nothing leaves the namespaces: the root namespace gets no interface, and the test process
reaches the hosts only from threads inside ``lg`` (support/netns.py); a blackhole route in the
root namespace for 10.231.0.0/16 makes a slip fail locally instead of leaving the machine.
Namespaces of a test process that is gone are swept (their processes killed) before new ones
are made, and ``close`` (called by fixtures in ``finally`` and at exit) removes everything.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from support import netns

PREFIX = "ehmh"
FRONT, BACK = "10.231.1", "10.231.2"
GUARD_ROUTE = "10.231.0.0/16"
#: host -> (last octet on front, on back); None: no cable to that switch
TOPOLOGY: Mapping[str, tuple[int | None, int | None]] = {
    "db": (None, 10),
    "web1": (11, 11),
    "web2": (12, 12),
    "w1": (None, 21),
    "w2": (None, 22),
    "lg": (100, 100),
}
DELAYLINE = Path(__file__).with_name("delayline.py")


def sh(*args: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return result


def unavailable() -> str | None:
    """Why network namespaces cannot be made here, or None when they can."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "no `ip` command (apt-get install iproute2)"
    probe = f"{PREFIX}{os.getpid()}-probe"
    made = sh("ip", "netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"`ip netns add` failed: {made.stderr.strip()}"
    sh("ip", "netns", "del", probe, check=False)
    return None


_shaping: dict[str, str | None] = {}


def shaping_unavailable() -> str | None:
    """Why :class:`Shaper` cannot delay a link here, or None when it can (probed once, in a
    namespace of its own): ``tc netem`` where the kernel has it, else iptables' NFQUEUE."""
    if "reason" in _shaping:
        return _shaping["reason"]
    probe = f"{PREFIX}{os.getpid()}-shape"
    reason: str | None = None
    sh("ip", "netns", "add", probe)
    try:
        sh("ip", "-n", probe, "link", "set", "lo", "up")
        netem = ["tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"]
        if sh("ip", "netns", "exec", probe, *netem, check=False).returncode != 0:
            if shutil.which("iptables") is None:
                reason = "no netem in this kernel and no iptables (apt-get install iptables)"
            else:
                rule = ["OUTPUT", "-o", "lo", "-j", "NFQUEUE", "--queue-num", "0", "--queue-bypass"]
                made = sh("ip", "netns", "exec", probe, "iptables", "-A", *rule, check=False)
                if made.returncode != 0:
                    reason = f"no netem in this kernel and iptables' NFQUEUE failed: {made.stderr}"
    finally:
        sh("ip", "netns", "del", probe, check=False)
    _shaping["reason"] = reason
    return reason


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _namespaces() -> list[str]:
    listing = sh("ip", "netns", "list", check=False).stdout
    return [line.split()[0] for line in listing.splitlines() if line.startswith(PREFIX)]


def _kill_namespace(name: str) -> None:
    """SIGKILL every process in namespace ``name``, then delete it."""
    for _ in range(50):
        pids = [int(p) for p in sh("ip", "netns", "pids", name, check=False).stdout.split()]
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)
    netns.forget(name)
    sh("ip", "netns", "del", name, check=False)


def sweep_stale() -> list[str]:
    """Remove ``ehmh<pid>-*`` namespaces whose test process is gone; return their names."""
    removed = []
    for name in _namespaces():
        owner = name[len(PREFIX) :].split("-", 1)[0]
        if owner.isdigit() and _alive(int(owner)):
            continue
        _kill_namespace(name)
        removed.append(name)
    if not _namespaces():
        sh("ip", "route", "del", "blackhole", GUARD_ROUTE, check=False)
    return removed


@dataclass
class Link:
    """A host's cable: ``iface`` in the host's namespace, ``port`` on the switch's bridge."""

    host: str
    host_ns: str
    iface: str
    switch_ns: str
    port: str

    def down(self) -> None:
        """Pull the cable (the switch's end goes down; the host sees no carrier)."""
        sh("ip", "-n", self.switch_ns, "link", "set", self.port, "down")

    def up(self) -> None:
        sh("ip", "-n", self.switch_ns, "link", "set", self.port, "up")


class Shaper:
    """Delay and loss on what a host sends out of one interface, until ``clear``."""

    #: shapers not cleared yet, for Network.heal after a failed scenario
    active: list[Shaper] = []  # noqa: RUF012 (shared on purpose)

    def __init__(self, link: Link, queue: int, delay: float, loss: float) -> None:
        self.link = link
        Shaper.active.append(self)
        self.rule = ["OUTPUT", "-o", link.iface, "-j", "NFQUEUE", "--queue-num", str(queue)]
        self.netem = False
        self.process: subprocess.Popen[str] | None = None
        ms, percent = f"{delay * 1000:g}ms", f"{loss * 100:g}%"
        tc = [
            "tc",
            "qdisc",
            "add",
            "dev",
            link.iface,
            "root",
            "netem",
            "delay",
            ms,
            "loss",
            percent,
        ]
        if sh("ip", "netns", "exec", link.host_ns, *tc, check=False).returncode == 0:
            self.netem = True
            return
        if shutil.which("iptables") is None:
            raise RuntimeError("no netem in this kernel and no iptables (apt-get install iptables)")
        args = ["--queue", str(queue), "--delay", str(delay), "--loss", str(loss)]
        self.process = subprocess.Popen(
            ["ip", "netns", "exec", link.host_ns, sys.executable, str(DELAYLINE), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        assert self.process.stdout is not None
        ready = self.process.stdout.readline().strip()
        if ready != "ready":
            self.process.kill()
            self.process.wait(10)
            raise RuntimeError(f"delay line did not start: {ready} {self.process.stdout.read()}")
        sh("ip", "netns", "exec", link.host_ns, "iptables", "-A", *self.rule, "--queue-bypass")

    @property
    def kind(self) -> str:
        return "netem" if self.netem else "nfqueue delay line"

    def clear(self) -> None:
        if self not in Shaper.active:
            return
        Shaper.active.remove(self)
        ns = self.link.host_ns
        if self.netem:
            sh("ip", "netns", "exec", ns, "tc", "qdisc", "del", "dev", self.link.iface, "root")
            return
        sh("ip", "netns", "exec", ns, "iptables", "-D", *self.rule, "--queue-bypass", check=False)
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
            assert self.process.stdout is not None
            self.process.stdout.close()


class Network:
    """The namespaces and cables of TOPOLOGY, owned by this test process."""

    def __init__(self) -> None:
        sweep_stale()
        self.tag = f"{PREFIX}{os.getpid()}"
        self.switch = f"{self.tag}-sw"
        self.links: dict[tuple[str, str], Link] = {}
        self._closed = False
        atexit.register(self.close)
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    def ns(self, host: str) -> str:
        return f"{self.tag}-{host}"

    def address(self, host: str, side: str = "back") -> str:
        front, back = TOPOLOGY[host]
        octet = front if side == "front" else back
        assert octet is not None, f"{host} has no {side} cable"
        return f"{FRONT if side == 'front' else BACK}.{octet}"

    def link(self, host: str, side: str = "back") -> Link:
        return self.links[(host, side)]

    def _build(self) -> None:
        sh("ip", "route", "replace", "blackhole", GUARD_ROUTE)
        sw = self.switch
        sh("ip", "netns", "add", sw)
        sh("ip", "-n", sw, "link", "set", "lo", "up")
        for bridge in ("front", "back"):
            sh("ip", "-n", sw, "link", "add", bridge, "type", "bridge")
            sh("ip", "-n", sw, "link", "set", bridge, "up")
        for host, octets in TOPOLOGY.items():
            ns = self.ns(host)
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            for side, octet in zip(("front", "back"), octets, strict=True):
                if octet is None:
                    continue
                port = f"{host}-{side}"
                sh("ip", "-n", sw, "link", "add", port, "type", "veth", "peer", side, "netns", ns)
                sh("ip", "-n", sw, "link", "set", port, "master", side, "up")
                sh("ip", "-n", ns, "addr", "add", f"{self.address(host, side)}/24", "dev", side)
                sh("ip", "-n", ns, "link", "set", side, "up")
                self.links[(host, side)] = Link(host, ns, side, sw, port)

    def heal(self) -> None:
        """Every cable plugged in and no delay or loss left: for the next scenario."""
        for shaper in list(Shaper.active):
            if shaper.link.host_ns.startswith(f"{self.tag}-"):
                shaper.clear()
        for link in self.links.values():
            link.up()

    def close(self) -> None:
        """Kill every process in our namespaces and delete them; idempotent."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        for name in _namespaces():
            if name.startswith(f"{self.tag}-"):
                _kill_namespace(name)
        if not _namespaces():
            sh("ip", "route", "del", "blackhole", GUARD_ROUTE, check=False)


def in_host(network: Network, host: str, args: Sequence[str]) -> list[str]:
    """``args`` run on ``host``: in its network namespace, with its own host name."""
    hostname = ["unshare", "--uts", "--", "sh", "-c", 'hostname "$0" && exec "$@"', host]
    return ["ip", "netns", "exec", network.ns(host), *hostname, *args]
