"""Private, throw-away Redis, RabbitMQ and PostgreSQL servers, and a TCP fault proxy.

The fault-injection tests stop, crash and cut off their backends; they must never touch
the machine's shared services (PostgreSQL on 5432, Redis on 6379, RabbitMQ on 5672).
Every class here starts its own process on a spare port, under its own temporary
directory, and registers an ``atexit`` hook that kills the process and removes the
directory, so an aborted test run leaves nothing behind.

    with RedisServer().start() as redis, FaultProxy("127.0.0.1", redis.port) as proxy:
        url = proxy.url_for(redis.url)  # the app talks to Redis through the proxy
        proxy.set_mode("blackhole")  # ... and now Redis hangs
        redis.restart()  # ... and now Redis has lost its data

Redis and PostgreSQL can also run inside a network namespace (``netns=``), bound to an address
of it (``host=``), for the multi-host tests: their commands go through ``ip netns exec`` and
their readiness checks connect from a thread in that namespace (support/netns.py).
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import glob
import os
import pwd
import queue
import re
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Literal, Self
from urllib.parse import urlsplit, urlunsplit

from support.netns import call_in, port_open_in
from support.services import unavailable
from support.stack import free_port, wait_until

__all__ = [
    "RESERVED_PORTS",
    "FaultProxy",
    "PostgresServer",
    "ProxyMode",
    "RabbitServer",
    "RedisServer",
    "StopMode",
    "epmd_names",
    "log_tail",
    "port_open",
    "postgres_bindir",
    "spare_port",
    "sweep_stale_dirs",
]

LOCALHOST = "127.0.0.1"
#: ports a private server must never take: the shared services and their helpers
#: (epmd, RabbitMQ's distribution and management ports, the rabbitmqctl port range)
RESERVED_PORTS = frozenset({4369, 5432, 5672, 6379, 15672, 25672, *range(35672, 35683)})

REDIS_SERVER = "/usr/bin/redis-server"
RABBITMQ_BIN = "/usr/lib/rabbitmq/bin"
SYSTEM_ERLANG_COOKIE = Path("/var/lib/rabbitmq/.erlang.cookie")
EPMD_PORT = 4369

ProxyMode = Literal["forward", "blackhole", "refuse", "drop"]
StopMode = Literal["fast", "immediate"]


def spare_port(exclude: Sequence[int] = ()) -> int:
    """A free port on 127.0.0.1 that is none of the shared services' ports."""
    for _ in range(100):
        port = free_port()
        if port not in RESERVED_PORTS and port not in exclude:
            return port
    raise RuntimeError("could not find a spare port")


def port_open(port: int, host: str = LOCALHOST, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout):
            return True
    except OSError:
        return False


def log_tail(*paths: Path, lines: int = 40) -> str:
    parts = []
    for path in paths:
        with contextlib.suppress(OSError):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {path} (last {len(text)} lines) ---\n" + "\n".join(text))
    return "\n".join(parts) or "(no log output)"


def clean_env(*prefixes: str, **extra: str) -> dict[str, str]:
    """os.environ without variables that would redirect a server (RABBITMQ_*, PG*, ...)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(extra)
    return env


def _dies_with_us(args: Sequence[str]) -> list[str]:
    """Prefix ``args`` so the process gets SIGKILL if this test process dies (even by SIGKILL).

    The parent-death signal fires when the *thread* that started the child exits, so it is
    only used from the main thread.
    """
    setpriv = shutil.which("setpriv")
    if setpriv and threading.current_thread() is threading.main_thread():
        return [setpriv, "--pdeathsig", "KILL", "--", *args]
    return list(args)


def _kill_group(popen: subprocess.Popen[bytes] | None, timeout: float = 10) -> None:
    """SIGKILL a process started with ``start_new_session=True`` and everything in its group."""
    if popen is None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(popen.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        popen.wait(timeout)


def _alive(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _terminate(pid: int, sig: int, timeout: float = 10) -> None:
    """Send ``sig`` to ``pid`` and wait (bounded) for it to exit; SIGKILL if it does not."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def sweep_stale_dirs() -> list[Path]:
    """Remove ``ehtest-*`` directories left by a test process that was SIGKILLed.

    A directory belongs to the process in its ``owner.pid``; while that process lives the
    directory is left alone. A postmaster still running in a dead owner's directory (pg_ctl
    detaches it, so it does not die with us) is shut down first. Returns what was removed.
    """
    removed = []
    for path in Path(tempfile.gettempdir()).glob("ehtest-*"):
        try:
            owner = int((path / "owner.pid").read_text())
        except (OSError, ValueError):
            continue
        if _alive(owner):
            continue
        with contextlib.suppress(OSError, ValueError):
            pid = int((path / "data" / "postmaster.pid").read_text().split("\n", 1)[0])
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if str(path).encode() in cmdline:  # that pid really is this cluster's postmaster
                _terminate(pid, signal.SIGQUIT)
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


class _Server:
    """Temporary directory, atexit cleanup and context-manager plumbing shared by servers."""

    kind = "server"

    def __init__(
        self, port: int | None = None, *, host: str = LOCALHOST, netns: str | None = None
    ) -> None:
        #: the address it listens on, and the network namespace it runs in (None: this one)
        self.host, self.netns = host, netns
        self.port = port if port is not None else spare_port()
        if self.port in RESERVED_PORTS:
            raise ValueError(f"port {self.port} belongs to a shared service")
        with contextlib.suppress(Exception):
            sweep_stale_dirs()
        self.dir = Path(tempfile.mkdtemp(prefix=f"ehtest-{self.kind}-{self.port}-"))
        (self.dir / "owner.pid").write_text(str(os.getpid()))
        #: wall-clock seconds the last start() took
        self.start_seconds: float | None = None
        self._closed = False
        atexit.register(self._atexit)

    # -- lifecycle every subclass implements -----------------------------------------------
    def start(self) -> Self:
        raise NotImplementedError

    def _force_kill(self) -> None:
        """Kill every process of this server, without waiting for a clean shutdown."""
        raise NotImplementedError

    # -- shared ------------------------------------------------------------------------------
    def close(self) -> None:
        """Kill the server and delete its directory; idempotent."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self._atexit)
        try:
            self._force_kill()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def in_netns(self, args: Sequence[str]) -> list[str]:
        """``args`` run inside the server's network namespace, if it has one."""
        return ["ip", "netns", "exec", self.netns, *args] if self.netns else list(args)

    def reachable(self) -> bool:
        """Whether the server's port takes connections, seen from its own namespace."""
        if self.netns:
            return port_open_in(self.netns, self.host, self.port)
        return port_open(self.port, self.host)

    def _atexit(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    def _wait_started(
        self,
        check: Callable[[], bool],
        died: Callable[[], bool],
        timeout: float,
        what: str,
        logs: Sequence[Path],
    ) -> None:
        """Wait for ``check``; fail early if ``died``; fail with the log tail on timeout."""
        try:
            wait_until(lambda: check() or died(), timeout, what, step=0.05)
        except AssertionError as error:
            raise AssertionError(f"{self!r}: {error}\n{log_tail(*logs)}") from None
        if died():
            raise AssertionError(f"{self!r}: exited while waiting for {what}\n{log_tail(*logs)}")

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} 127.0.0.1:{self.port} {self.dir}>"


# =========================================================================================
# Redis
# =========================================================================================


def _redis_ping(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), 1) as sock:
            sock.settimeout(1)
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer(_Server):
    """A private redis-server without persistence: restart() comes back empty."""

    kind = "redis"

    def __init__(
        self,
        port: int | None = None,
        binary: str = REDIS_SERVER,
        *,
        host: str = LOCALHOST,
        netns: str | None = None,
    ) -> None:
        if shutil.which(binary) is None:
            unavailable("redis", f"no {binary} (apt-get install redis-server)")
        super().__init__(port, host=host, netns=netns)
        self.binary = binary
        self.log = self.dir / "redis.log"
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def start(self, timeout: float = 15) -> Self:
        if self._closed:
            raise RuntimeError(f"{self!r} is closed")
        if self.running:
            return self
        began = time.monotonic()
        args = [
            self.binary,
            "--port", str(self.port),
            "--bind", self.host,
            # off only on a namespace's own address, which nothing outside it reaches
            "--protected-mode", "yes" if self.host == LOCALHOST else "no",
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--dir", str(self.dir),
            "--logfile", str(self.log),
        ]  # fmt: skip
        with (self.dir / "stdout.log").open("ab") as out:
            self._popen = subprocess.Popen(
                _dies_with_us(self.in_netns(args)),
                cwd=self.dir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_started(
            self.ping,
            lambda: not self.running,
            timeout,
            f"redis PING on {self.port}",
            [self.log, self.dir / "stdout.log"],
        )
        self.start_seconds = time.monotonic() - began
        return self

    def ping(self) -> bool:
        if self.netns:
            return bool(call_in(self.netns, _redis_ping, self.host, self.port))
        return _redis_ping(self.host, self.port)

    def stop(self) -> None:
        """SIGKILL the server: every key is lost."""
        _kill_group(self._popen)
        self._popen = None
        wait_until(lambda: not self.reachable(), 10, f"redis port {self.port} to close")

    kill = stop

    def restart(self, timeout: float = 15) -> Self:
        """Kill and start again on the same port, with no data (Redis "lost its data")."""
        self.stop()
        return self.start(timeout)

    def _force_kill(self) -> None:
        _kill_group(self._popen)
        self._popen = None


# =========================================================================================
# RabbitMQ
# =========================================================================================


def epmd_names(port: int = EPMD_PORT) -> dict[str, int] | None:
    """Node names registered with epmd (NAMES_REQ), or None if epmd does not answer."""
    try:
        with socket.create_connection((LOCALHOST, port), 2) as sock:
            sock.settimeout(2)
            sock.sendall(b"\x00\x01n")
            data = b""
            while chunk := sock.recv(4096):
                data += chunk
    except OSError:
        return None
    text = data[4:].decode(errors="replace")
    return {m[1]: int(m[2]) for m in re.finditer(r"name (\S+) at port (\d+)", text)}


class RabbitServer(_Server):
    """A private RabbitMQ node; restart() keeps its data (durable queues, persistent messages).

    It registers with the machine's epmd and uses the machine's Erlang cookie, so
    ``rabbitmqctl -n ehtest<port>@localhost ...`` works from a shell as well as :meth:`ctl`.
    """

    kind = "rabbitmq"

    def __init__(self, port: int | None = None, dist_port: int | None = None) -> None:
        self.bindir = self._find_bindir()
        super().__init__(port)
        self.dist_port = dist_port if dist_port is not None else spare_port([self.port])
        self.node = f"ehtest{self.port}@localhost"
        self.home = self.dir / "home"
        self.log_dir = self.dir / "log"
        self.mnesia_dir = self.dir / "mnesia"
        for path in (self.home, self.log_dir, self.mnesia_dir):
            path.mkdir(mode=0o700)
        self.log = self.log_dir / f"{self.node}.log"
        self.stdout_log = self.dir / "stdout.log"
        cookie = self.home / ".erlang.cookie"
        if SYSTEM_ERLANG_COOKIE.exists():
            shutil.copyfile(SYSTEM_ERLANG_COOKIE, cookie)
        else:
            cookie.write_text(os.urandom(20).hex().upper())
        cookie.chmod(0o400)
        (self.dir / "enabled_plugins").write_text("[].\n")
        (self.dir / "rabbitmq-env.conf").write_text("")
        (self.dir / "rabbitmq.conf").write_text(
            f"listeners.tcp.1 = {LOCALHOST}:{self.port}\n"
            "loopback_users.guest = true\n"
            "log.file.level = info\n"
            "log.console = false\n"
        )
        self._popen: subprocess.Popen[bytes] | None = None

    @staticmethod
    def _find_bindir() -> Path:
        if (Path(RABBITMQ_BIN) / "rabbitmq-server").exists():
            return Path(RABBITMQ_BIN)
        found = shutil.which("rabbitmq-server")
        if not found:
            unavailable("rabbitmq", "no rabbitmq-server (apt-get install rabbitmq-server)")
        return Path(os.path.realpath(found)).parent

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@{LOCALHOST}:{self.port}//"

    @property
    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def env(self) -> dict[str, str]:
        """Environment for rabbitmq-server and rabbitmqctl, isolated from /etc/rabbitmq."""
        return clean_env(
            "RABBITMQ_",
            "ERL_",
            HOME=str(self.home),
            RABBITMQ_NODENAME=self.node,
            RABBITMQ_NODE_IP_ADDRESS=LOCALHOST,
            RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(self.dist_port),
            RABBITMQ_MNESIA_BASE=str(self.mnesia_dir),
            RABBITMQ_LOG_BASE=str(self.log_dir),
            RABBITMQ_PID_FILE=str(self.dir / "rabbitmq.pid"),
            RABBITMQ_CONFIG_FILE=str(self.dir / "rabbitmq.conf"),
            RABBITMQ_ADVANCED_CONFIG_FILE=str(self.dir / "advanced.config"),
            RABBITMQ_CONF_ENV_FILE=str(self.dir / "rabbitmq-env.conf"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(self.dir / "enabled_plugins"),
            # exec the VM instead of running it under a signal-forwarding shell, so
            # the Popen pid is beam itself (and gets the parent-death signal)
            RABBITMQ_ALLOW_INPUT="1",
            RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=(
                "-noinput -kernel inet_dist_use_interface {127,0,0,1}"
            ),
        )

    def ctl(self, *args: str, timeout: float = 60, check: bool = True) -> str:
        """Run ``rabbitmqctl -n NODE *args``; return its output."""
        result = subprocess.run(
            [str(self.bindir / "rabbitmqctl"), "-n", self.node, *args],
            env=self.env(),
            cwd=self.dir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        output = result.stdout + result.stderr
        if check and result.returncode != 0:
            raise RuntimeError(
                f"rabbitmqctl {' '.join(args)} failed ({result.returncode}):\n{output}"
            )
        return output

    def _registered(self) -> bool:
        names = epmd_names()
        return names is not None and self.node.split("@")[0] in names

    def start(self, timeout: float = 90) -> Self:
        if self._closed:
            raise RuntimeError(f"{self!r} is closed")
        if self.running:
            return self
        began = time.monotonic()
        # a previous incarnation must be completely gone, or the node name is taken
        wait_until(
            lambda: not self._registered() and not port_open(self.port),
            30,
            f"{self.node} to be gone before starting it",
        )
        with self.stdout_log.open("ab") as out:
            self._popen = subprocess.Popen(
                _dies_with_us([str(self.bindir / "rabbitmq-server")]),
                cwd=self.dir,
                env=self.env(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        logs = [self.log, self.stdout_log]
        self._wait_started(
            lambda: port_open(self.port),
            lambda: not self.running,
            timeout,
            f"RabbitMQ AMQP port {self.port}",
            logs,
        )
        remaining = max(5.0, timeout - (time.monotonic() - began))
        try:
            self.ctl("await_startup", "--timeout", str(int(remaining)), timeout=remaining + 10)
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            message = f"{self!r}: await_startup failed: {error}\n{log_tail(*logs)}"
            raise AssertionError(message) from None
        self.start_seconds = time.monotonic() - began
        return self

    def stop(self, timeout: float = 60) -> None:
        """Stop the node cleanly (``rabbitmqctl stop``); kill it if that does not work."""
        if self.running:
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self.ctl("stop", timeout=timeout)
            assert self._popen is not None
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._popen.wait(timeout)
        self._gone()

    def kill(self) -> None:
        """SIGKILL the node, as a crash would (unconfirmed messages may be lost)."""
        self._gone()

    def restart(self, timeout: float = 90) -> Self:
        """Stop cleanly and start again: same port, node name and data."""
        self.stop()
        return self.start(timeout)

    def _gone(self) -> None:
        _kill_group(self._popen)
        self._popen = None
        wait_until(
            lambda: not self._registered() and not port_open(self.port),
            30,
            f"{self.node} to leave epmd and close port {self.port}",
        )

    def _force_kill(self) -> None:
        _kill_group(self._popen)
        self._popen = None


# =========================================================================================
# PostgreSQL
# =========================================================================================


def postgres_bindir() -> Path:
    """The newest /usr/lib/postgresql/<version>/bin that has initdb (15 on this machine)."""
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if not found:
        unavailable("postgres", "no /usr/lib/postgresql/*/bin/initdb (apt-get install postgresql)")

    def version(path: str) -> float:
        with contextlib.suppress(ValueError):
            return float(Path(path).parts[-3])
        return 0.0

    return Path(max(found, key=version)).parent


class PostgresServer(_Server):
    """A private PostgreSQL cluster (trust auth, fsync on), run as the ``postgres`` user."""

    kind = "postgres"
    user = "postgres"

    def __init__(
        self,
        port: int | None = None,
        bindir: Path | None = None,
        *,
        host: str = LOCALHOST,
        netns: str | None = None,
    ) -> None:
        self.bindir = bindir or postgres_bindir()
        super().__init__(port, host=host, netns=netns)
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.ctl_log = self.dir / "pg_ctl.log"
        #: wall-clock seconds initdb took (None until the first start())
        self.initdb_seconds: float | None = None
        entry = pwd.getpwnam(self.user)
        os.chown(self.dir, entry.pw_uid, entry.pw_gid)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/postgres"

    @property
    def running(self) -> bool:
        return self.postmaster_pid() is not None and self.reachable()

    def postmaster_pid(self) -> int | None:
        try:
            pid = int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) else None

    def _run(self, tool: str, *args: str, timeout: float) -> subprocess.CompletedProcess[bytes]:
        """Run a PostgreSQL program as ``postgres``; its output goes to pg_ctl.log."""
        with self.ctl_log.open("ab") as out:
            return subprocess.run(
                self.in_netns(["runuser", "-u", self.user, "--", str(self.bindir / tool), *args]),
                cwd=self.dir,
                env=clean_env("PG", LC_ALL="C.UTF-8"),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                check=False,
                start_new_session=True,
            )

    def _initdb(self) -> None:
        began = time.monotonic()
        result = self._run(
            "initdb",
            "-D", str(self.data),
            "-U", "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            timeout=120,
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"{self!r}: initdb failed\n{log_tail(self.ctl_log)}")
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# emailhook fault tests\n"
                f"listen_addresses = '{self.host}'\n"
                f"port = {self.port}\n"
                f"unix_socket_directories = '{self.dir}'\n"
                "shared_buffers = 32MB\n"
                "max_connections = 100\n"
                "fsync = on\n"
                "synchronous_commit = on\n"
                "full_page_writes = on\n"
                "logging_collector = off\n"
            )
        if self.host != LOCALHOST:  # the hosts of the namespace's own subnets
            with (self.data / "pg_hba.conf").open("a") as hba:
                hba.write("host all all samenet trust\n")
        self.initdb_seconds = time.monotonic() - began

    def start(self, timeout: float = 60) -> Self:
        if self._closed:
            raise RuntimeError(f"{self!r} is closed")
        if self.postmaster_pid() is not None:
            return self
        if not (self.data / "PG_VERSION").exists():
            self._initdb()
        began = time.monotonic()
        try:
            result = self._run(
                "pg_ctl",
                "-D", str(self.data),
                "-l", str(self.log),
                "-w", "-t", str(int(timeout)),
                "start",
                timeout=timeout + 15,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            result = None
        if result is None or result.returncode != 0 or not self.reachable():
            raise AssertionError(
                f"{self!r}: pg_ctl start failed\n{log_tail(self.log, self.ctl_log)}"
            )
        self.start_seconds = time.monotonic() - began
        return self

    def stop(self, mode: StopMode = "fast", timeout: float = 60) -> None:
        """``pg_ctl stop -m fast`` (clean) or ``-m immediate`` (crash-like: recovery on start)."""
        if mode not in ("fast", "immediate"):
            raise ValueError(f"unknown stop mode {mode!r}")
        if self.postmaster_pid() is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._run(
                    "pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", str(int(timeout)),
                    "stop", timeout=timeout + 15,
                )  # fmt: skip
        self._force_kill()
        wait_until(lambda: not self.reachable(), 15, f"postgres port {self.port} to close")

    def restart(self, mode: StopMode = "fast", timeout: float = 60) -> Self:
        self.stop(mode)
        return self.start(timeout)

    def _force_kill(self) -> None:
        pid = self.postmaster_pid()
        if pid is None:
            return
        # SIGQUIT is PostgreSQL's immediate shutdown; SIGKILL if it does not go
        _terminate(pid, signal.SIGQUIT)


# =========================================================================================
# Fault proxy
# =========================================================================================

_BUFFER_LIMIT = 256 * 1024
_CHUNK = 64 * 1024
#: struct linger {l_onoff=1, l_linger=0}: close() sends RST
_LINGER_RESET = struct.pack("ii", 1, 0)


class _Command:
    """A request from a test's thread to the proxy's loop thread."""

    def __init__(self, command: str) -> None:
        self.command = command
        self.done = threading.Event()
        self.error: Exception | None = None


class _Link:
    """One proxied connection: client <-> proxy <-> upstream."""

    def __init__(self, client: socket.socket) -> None:
        self.client = client
        self.upstream: socket.socket | None = None
        self.connected = False
        self.to_upstream = bytearray()
        self.to_client = bytearray()
        #: accepted while blackholed: read and held, upstream not dialled yet
        self.held = False
        #: blackholed after it was forwarding: no I/O in either direction
        self.paused = False
        #: which side sent EOF; the other direction is flushed, then both close
        self.eof_from: Literal["client", "upstream"] | None = None
        self.closed = False


class FaultProxy:
    """A TCP proxy on 127.0.0.1:<port> to (host, port) whose behaviour tests can switch.

    Modes (``set_mode`` returns once the mode is in effect):

    * ``forward``: a plain proxy; connections held or paused by ``blackhole`` resume.
    * ``blackhole``: a hung peer. New connections are accepted and read but get no answer
      and reach nothing; established ones stop moving bytes in both directions.
    * ``refuse``: the port stops listening (connects get ECONNREFUSED, the port stays
      reserved) and every connection is reset.
    * ``drop``: every connection is reset once; the mode then is ``forward``.
    """

    def __init__(self, host: str, port: int, *, listen_port: int = 0) -> None:
        self.target = (host, port)
        if listen_port in RESERVED_PORTS:
            raise ValueError(f"port {listen_port} belongs to a shared service")
        self._mode: ProxyMode = "forward"
        self._sel = selectors.DefaultSelector()
        self._commands: queue.Queue[_Command] = queue.Queue()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._links: set[_Link] = set()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._closed = False
        self.error: BaseException | None = None
        self._torn_down = False
        listener = self._bind(listen_port)
        self.port: int = listener.getsockname()[1]
        listener.listen(128)
        self._listener: socket.socket | None = listener
        self._listening = True
        atexit.register(self.close)

    # -- public ------------------------------------------------------------------------------
    @property
    def mode(self) -> ProxyMode:
        return self._mode

    @property
    def address(self) -> tuple[str, int]:
        return (LOCALHOST, self.port)

    @property
    def connection_count(self) -> int:
        return len(self._links)

    def url_for(self, url: str) -> str:
        """``url`` with its host and port replaced by the proxy's (user info kept)."""
        parts = urlsplit(url)
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@{LOCALHOST}:{self.port}" if userinfo else f"{LOCALHOST}:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    def start(self) -> Self:
        if self._closed:
            raise RuntimeError("FaultProxy is closed")
        if self._thread is None:
            self._sel.register(self._wake_r, selectors.EVENT_READ, "wake")
            assert self._listener is not None
            self._listener.setblocking(False)
            self._sel.register(self._listener, selectors.EVENT_READ, "listen")
            self._thread = threading.Thread(
                target=self._run, name=f"FaultProxy-{self.port}", daemon=True
            )
            self._thread.start()
        return self

    def set_mode(self, mode: ProxyMode, timeout: float = 10) -> None:
        if mode not in ("forward", "blackhole", "refuse", "drop"):
            raise ValueError(f"unknown proxy mode {mode!r}")
        self._call(mode, timeout)

    def close(self) -> None:
        """Stop the thread and close every socket; idempotent."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        if self._thread is not None and self._thread.is_alive():
            with contextlib.suppress(RuntimeError):
                self._call("stop", 10)
            self._thread.join(10)
        if self._thread is None or not self._thread.is_alive():
            self._teardown()  # else the daemon thread is wedged; it tears down if it ever ends
        self._wake_r.close()
        self._wake_w.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"<FaultProxy 127.0.0.1:{self.port} -> {self.target[0]}:{self.target[1]} {self._mode}>"
        )

    # -- calling into the loop thread ------------------------------------------------------------
    def _call(self, command: str, timeout: float) -> None:
        if self._thread is None:
            self.start()
        assert self._thread is not None
        if not self._thread.is_alive():
            raise RuntimeError(f"{self!r}: proxy thread is dead") from self.error
        call = _Command(command)
        self._commands.put(call)
        with contextlib.suppress(BlockingIOError):
            self._wake_w.send(b"x")
        if not call.done.wait(timeout):
            raise RuntimeError(f"{self!r}: proxy thread did not apply {command!r}") from self.error
        if call.error is not None:
            raise RuntimeError(f"{self!r}: {command!r} failed: {call.error}") from call.error

    # -- the loop thread -----------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while not self._stopping:
                for key, events in self._sel.select(timeout=1.0):
                    if key.data == "wake":
                        self._commands_pending()
                    elif key.data == "listen":
                        self._accept()
                    else:
                        link, side = key.data
                        if not link.closed:
                            self._service(link, side, events)
        except BaseException as error:  # keep the failure for set_mode(); never crash loudly
            self.error = error
        finally:
            self._teardown()
            # release anyone waiting on a command
            while True:
                try:
                    self._commands.get_nowait().done.set()
                except queue.Empty:
                    break

    def _commands_pending(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while self._wake_r.recv(4096):
                pass
        while True:
            try:
                call = self._commands.get_nowait()
            except queue.Empty:
                return
            try:
                self._apply(call.command)
            except Exception as error:  # reported to the caller of set_mode()
                call.error = error
            finally:
                call.done.set()

    def _apply(self, command: str) -> None:
        if command == "stop":
            self._stopping = True
        elif command == "forward":
            self._listen()
            self._mode = "forward"
            for link in list(self._links):
                link.paused = False
                if link.held:
                    link.held = False
                    self._dial(link)
                self._refresh(link)
        elif command == "blackhole":
            self._listen()
            self._mode = "blackhole"
            for link in list(self._links):
                if not link.held:
                    link.paused = True
                self._refresh(link)
        elif command == "refuse":
            self._unlisten()
            self._mode = "refuse"
            self._drop_all()
        elif command == "drop":
            self._drop_all()
            self._apply("forward")

    def _bind(self, port: int) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((LOCALHOST, port))
        except OSError:
            sock.close()
            raise
        return sock

    def _listen(self) -> None:
        if self._listening:
            return
        if self._listener is None:
            self._listener = self._bind(self.port)
        self._listener.listen(128)
        self._listener.setblocking(False)
        self._sel.register(self._listener, selectors.EVENT_READ, "listen")
        self._listening = True

    def _unlisten(self) -> None:
        """Stop listening but keep the port bound (a bound, non-listening socket refuses)."""
        if not self._listening or self._listener is None:
            return
        self._sel.unregister(self._listener)
        self._listener.close()
        self._listener = None
        self._listening = False
        self._listener = self._bind(self.port)

    def _accept(self) -> None:
        while self._listening and self._listener is not None:
            try:
                client, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            client.setblocking(False)
            with contextlib.suppress(OSError):
                client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            link = _Link(client)
            self._links.add(link)
            if self._mode == "blackhole":
                link.held = True
            else:
                self._dial(link)
            self._refresh(link)

    def _dial(self, link: _Link) -> None:
        try:
            infos = socket.getaddrinfo(*self.target, type=socket.SOCK_STREAM)
            family, kind, proto, _, address = infos[0]
            upstream = socket.socket(family, kind, proto)
        except OSError:
            self._close(link, abort=True)
            return
        upstream.setblocking(False)
        link.upstream = upstream
        code = upstream.connect_ex(address)
        if code == 0:
            link.connected = True
        elif code not in (errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY):
            self._close(link, abort=True)  # upstream refused: so does the proxy
            return
        with contextlib.suppress(OSError):
            upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _service(self, link: _Link, side: str, events: int) -> None:
        try:
            if side == "upstream":
                assert link.upstream is not None
                if not link.connected:
                    code = link.upstream.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if code:
                        self._close(link, abort=True)
                        return
                    link.connected = True
                else:
                    if events & selectors.EVENT_READ:
                        self._read(link, link.upstream, link.to_client, "upstream")
                    if events & selectors.EVENT_WRITE and link.to_upstream:
                        sent = link.upstream.send(link.to_upstream)
                        del link.to_upstream[:sent]
            else:
                if events & selectors.EVENT_READ:
                    self._read(link, link.client, link.to_upstream, "client")
                if events & selectors.EVENT_WRITE and link.to_client:
                    sent = link.client.send(link.to_client)
                    del link.to_client[:sent]
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self._close(link, abort=True)
            return
        if not link.closed:
            self._refresh(link)

    @staticmethod
    def _read(
        link: _Link, sock: socket.socket, into: bytearray, side: Literal["client", "upstream"]
    ) -> None:
        data = sock.recv(_CHUNK)
        if data:
            into += data
        else:
            link.eof_from = side

    def _refresh(self, link: _Link) -> None:
        """Close a finished link, or (re)register its sockets for the I/O it needs now."""
        if link.closed:
            return
        if link.eof_from == "client" and (link.held or not link.to_upstream):
            self._close(link)
            return
        if link.eof_from == "upstream" and not link.to_client:
            self._close(link)
            return
        reading = link.eof_from is None and not link.paused
        client_events = 0
        if reading and len(link.to_upstream) < _BUFFER_LIMIT:
            client_events |= selectors.EVENT_READ
        if link.to_client and not link.paused:
            client_events |= selectors.EVENT_WRITE
        self._watch(link.client, client_events, (link, "client"))
        if link.upstream is not None:
            upstream_events = 0
            if link.paused:
                pass
            elif not link.connected:
                upstream_events = selectors.EVENT_WRITE
            else:
                if reading and len(link.to_client) < _BUFFER_LIMIT:
                    upstream_events |= selectors.EVENT_READ
                if link.to_upstream:
                    upstream_events |= selectors.EVENT_WRITE
            self._watch(link.upstream, upstream_events, (link, "upstream"))

    def _watch(self, sock: socket.socket, events: int, data: object) -> None:
        try:
            key = self._sel.get_key(sock)
        except KeyError:
            if events:
                self._sel.register(sock, events, data)
            return
        if not events:
            self._sel.unregister(sock)
        elif key.events != events:
            self._sel.modify(sock, events, data)

    def _close(self, link: _Link, *, abort: bool = False) -> None:
        if link.closed:
            return
        link.closed = True
        self._links.discard(link)
        for sock in (link.client, link.upstream):
            if sock is None:
                continue
            with contextlib.suppress(KeyError, ValueError):
                self._sel.unregister(sock)
            if abort:  # RST instead of FIN, as when a peer or the network drops it
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
            sock.close()

    def _drop_all(self) -> None:
        for link in list(self._links):
            self._close(link, abort=True)

    def _teardown(self) -> None:
        if self._torn_down:
            return
        self._torn_down = True
        self._drop_all()
        if self._listener is not None:
            with contextlib.suppress(KeyError, ValueError):
                self._sel.unregister(self._listener)
            self._listener.close()
            self._listener = None
        self._listening = False
        with contextlib.suppress(KeyError, ValueError):
            self._sel.unregister(self._wake_r)
        self._sel.close()
