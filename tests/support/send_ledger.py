"""A ledger of the send pipeline: what ``POST /messages`` answered 202 (and queued), checked
against what the fake provider accepted (by our id) and what the outbox holds at the end.

Every message answered ``queued`` must reach the provider exactly once and end ``sent``: a
killed worker, a lost broker, a restarted database or an answer that never came may delay a
message, never lose it nor send it twice.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from support.fake_senders import FakeInfobipSender
from support.infobip_bodies import report, reports
from support.stack import Stack, wait_until

SEND_KEY = "send-key-faults"
AUTH = {"Authorization": f"Bearer {SEND_KEY}"}
INFOBIP_KEY = "ib-faults-key"
WEBHOOK_TOKEN = "hook-token-faults"
#: our id as Infobip echoes it (callbackData), the fake ledger's key
OUR_ID = "emailhook_id"


def suppress(stack: Stack, address: str) -> None:
    """Put ``address`` on the suppression list as Infobip's hard bounce would (its report
    posted to ``POST /email/<token>``), and wait until it is there."""
    bounce = report(
        address,
        datetime.now(UTC),
        "UNDELIVERABLE",
        message_id="old-1",
        error_id=10,
        permanent=True,
    )
    answer = stack.post_to(f"/email/{WEBHOOK_TOKEN}", reports(bounce))
    assert answer.status_code == 200, answer.text
    wait_until(
        lambda: stack.scalar("SELECT count(*) FROM suppression WHERE email = :e", e=address) == 1,
        30,
        f"{address} suppressed",
    )


def send_env(infobip: FakeInfobipSender, **extra: str) -> dict[str, str]:
    """A stack's settings to send through ``infobip``, tuned to heal in seconds: a call is
    given up after 2 s, the logs are asked 0.5 s after it, a lost task is republished after
    5 s, a dead worker's messages are taken again 3 s past its call's bound."""
    return {
        "EMAILHOOK_SEND_API_KEYS": SEND_KEY,
        "EMAILHOOK_INFOBIP_BASE_URL": infobip.url,
        "EMAILHOOK_INFOBIP_API_KEY": INFOBIP_KEY,
        "EMAILHOOK_PUBLIC_URL": "https://hooks.example.com",
        "EMAILHOOK_WEBHOOK_TOKENS": WEBHOOK_TOKEN,
        "EMAILHOOK_SEND_TIMEOUT_SECONDS": "2",
        "EMAILHOOK_SEND_LOOKUP_GRACE_SECONDS": "0.5",
        "EMAILHOOK_SEND_REDELIVERY_SECONDS": "5",
        # a killed worker's messages are taken again 7.5 s after its take, not 34.5 s
        "EMAILHOOK_SEND_HOLD_MARGIN_SECONDS": "3",
        **extra,
    }


def batch(recipients: int, run: str | None = None, also: tuple[str, ...] = ()) -> dict[str, Any]:
    """A ``POST /messages`` body to ``recipients`` unique addresses, each with a contact id,
    and to the addresses ``also``."""
    run = run or uuid.uuid4().hex[:8]
    return {
        "from": "Cobranca <cobranca@example.com>",
        "subject": "Fatura {{name}}",
        "text": "Ola {{name}}",
        "category": "transactional",
        "metadata": {"qj_approach_flow_campaign": f"faults-{run}"},
        "to": [
            {
                "email": f"r{n}-{run}@example.com",
                "merge_data": {"name": f"R{n}"},
                "metadata": {"qj_contact_id": n + 1},
            }
            for n in range(recipients)
        ]
        + [{"email": address} for address in also],
    }


@dataclass
class SendLedger:
    """What the send API answered: ids by status, and the requests that got no 202."""

    queued: set[str] = field(default_factory=set)
    #: answered ``suppressed``: must never reach the provider
    suppressed: set[str] = field(default_factory=set)
    other: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int | None] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, answer: httpx.Response | None, latency: float, error: str = "") -> None:
        with self._lock:
            self.latencies.append(latency)
            if answer is None:
                self.statuses[None] += 1
                self.errors[error] += 1
                return
            self.statuses[answer.status_code] += 1
            if answer.status_code != 202:
                self.errors[answer.text[:200]] += 1
                return
            for message in answer.json()["messages"]:
                if message["status"] == "queued":
                    self.queued.add(message["id"])
                elif message["status"] == "suppressed":
                    self.suppressed.add(message["id"])
                else:
                    self.other[message["status"]] += 1

    @property
    def accepted(self) -> int:
        with self._lock:
            return self.statuses[202]

    def summary(self) -> str:
        latencies = sorted(self.latencies) or [0.0]
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        return (
            f"requests={dict(self.statuses)} queued={len(self.queued)}"
            f" suppressed={len(self.suppressed)} other={dict(self.other)}"
            f" p99={p99:.3f}s"
        )


def post_messages(
    base_url: str,
    count: int,
    recipients: int,
    *,
    concurrency: int = 4,
    duration: float = 0.0,
    ledger: SendLedger | None = None,
    also: tuple[str, ...] = (),
    make: Callable[[int, str, tuple[str, ...]], dict[str, Any]] | None = None,
) -> SendLedger:
    """POST ``count`` batches of ``recipients`` each (and ``also``), spread over ``duration``
    seconds."""
    ledger = ledger or SendLedger()
    start = time.monotonic()
    interval = duration / max(1, count)
    counter = itertools.count()
    run = uuid.uuid4().hex[:6]
    idle: queue.SimpleQueue[httpx.Client] = queue.SimpleQueue()
    clients = [httpx.Client(timeout=15) for _ in range(concurrency)]
    for client in clients:
        idle.put(client)

    def send(n: int) -> None:
        due = start + next(counter) * interval
        if (wait := due - time.monotonic()) > 0:
            time.sleep(wait)
        client = idle.get()
        began = time.monotonic()
        try:
            answer = client.post(
                f"{base_url}/messages",
                json=(make or batch)(recipients, f"{run}-{n}", also),
                headers=AUTH,
            )
        except httpx.HTTPError as error:
            ledger.record(None, time.monotonic() - began, type(error).__name__)
            return
        finally:
            idle.put(client)
        ledger.record(answer, time.monotonic() - began)

    try:
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(send, range(count)))
    finally:
        for client in clients:
            client.close()
    return ledger


class SendBackground:
    """``post_messages`` in a thread, so that a test can break things while the load goes on."""

    def __init__(self, base_url: str, count: int, recipients: int, **options: Any) -> None:
        self.ledger = SendLedger()
        self._thread = threading.Thread(
            target=post_messages,
            args=(base_url, count, recipients),
            kwargs={**options, "ledger": self.ledger},
        )

    def __enter__(self) -> SendBackground:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._thread.join()

    def wait_refused(self, count: int, timeout: float = 60) -> None:
        """Wait until ``count`` requests in all were answered other than 202 (or the load has
        ended)."""
        deadline = time.monotonic() + timeout
        while self._thread.is_alive():
            with self.ledger._lock:
                refused = sum(n for status, n in self.ledger.statuses.items() if status != 202)
            if refused >= count:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{refused} requests refused of {count} awaited")
            time.sleep(0.02)

    def wait_accepted(self, more: int, timeout: float = 60) -> None:
        """Wait until ``more`` requests beyond those answered now are answered 202, or the load
        has ended (faults follow the load's progress, not the clock)."""
        target = self.ledger.accepted + more
        deadline = time.monotonic() + timeout
        while self.ledger.accepted < target and self._thread.is_alive():
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.ledger.accepted} answered 202 of {target} awaited")
            time.sleep(0.02)


def outbox_states(stack: Stack) -> dict[str, str]:
    """Every outbox message's state, by our id."""
    return {r["public_id"]: r["state"] for r in stack.rows("SELECT public_id, state FROM outbox")}


#: states the relay and the workers still act on
OPEN = ("queued", "scheduled", "sending")


def wait_settled(stack: Stack, ids: set[str], timeout: float = 90) -> None:
    """Wait until the outbox holds every message of ``ids`` and none is still open (queued,
    scheduled, sending); on timeout, say where they stand."""

    def done() -> bool:
        try:
            counts = {r["state"]: r["n"] for r in _by_state(stack)}
        except Exception:  # the database may be coming back
            return False
        return sum(counts.values()) >= len(ids) and not any(counts.get(s) for s in OPEN)

    try:
        wait_until(done, timeout, f"{len(ids)} messages settled", step=0.2)
    except AssertionError as error:
        raise AssertionError(f"{error}\n{diagnose(stack)}") from None


def _by_state(stack: Stack) -> list[Any]:
    return stack.rows("SELECT state, count(*) AS n FROM outbox GROUP BY state")


def diagnose(stack: Stack) -> str:
    """The outbox by state, with a reason, and the tail of every process log."""
    try:
        states = stack.rows(
            "SELECT state, count(*) AS n, max(attempts) AS attempts, max(deliveries) AS"
            " deliveries, max(reason) AS reason FROM outbox GROUP BY state"
        )
    except Exception as error:
        states = [{"error": repr(error)}]
    return f"outbox: {states}\n{stack.diagnose()}"


def assert_sent_once(
    infobip: FakeInfobipSender,
    stack: Stack,
    ids: set[str],
    *,
    suppressed: AbstractSet[str] = frozenset(),
    commit_may_be_lost: bool = False,
) -> None:
    """Every message of the outbox ended ``sent`` and reached the fake exactly once; nothing
    else reached it; and the outbox holds exactly ``ids`` (and ``suppressed``, which end
    ``suppressed`` and never reach it).

    ``commit_may_be_lost``: the database crashed mid-run, so a batch it committed may have
    been answered 5xx; the outbox may then hold more than ``ids`` (sent once all the same).
    """
    assert ids, "no message was answered queued"
    infobip.ledger.assert_once(OUR_ID)
    states = outbox_states(stack)
    held = {i: states.get(i) for i in suppressed if states.get(i) != "suppressed"}
    assert not held, f"{len(held)} answered suppressed, then: {list(held.items())[:5]}"
    states = {i: s for i, s in states.items() if i not in suppressed}
    not_sent = {i: s for i, s in states.items() if s != "sent"}
    assert not not_sent, f"{len(not_sent)} not sent: {list(not_sent.items())[:5]}"
    absent = ids - states.keys()
    assert not absent, f"{len(absent)} answered queued, not in the outbox: {sorted(absent)[:5]}"
    if not commit_may_be_lost:
        extra = states.keys() - ids
        assert not extra, f"{len(extra)} in the outbox, never answered: {sorted(extra)[:5]}"
    got = set(infobip.ledger.count(OUR_ID))
    assert got == states.keys(), (
        f"never reached the provider: {sorted(states.keys() - got)[:5]};"
        f" reached it, not in the outbox: {sorted(got - states.keys())[:5]}"
    )
    assert not infobip.crashes, infobip.crashes


#: one line per send scenario; tests/faults/conftest.py prints them with the others
def summary(scenario: str, ledger: SendLedger, infobip: FakeInfobipSender, stack: Stack) -> str:
    posts = sum(1 for r in list(infobip.requests) if r.path == "/email/4/messages")
    lookups = sum(1 for r in list(infobip.requests) if r.path == "/email/4/logs")
    return (
        f"send-{scenario} [{stack.label}]: {ledger.summary()} provider_requests={posts}"
        f" lookups={lookups} accepted_once={len(infobip.ledger)}"
    )
