"""A ledger of what was posted and what was answered 200, checked against what was stored."""

from __future__ import annotations

import itertools
import json
import queue
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
from sqlalchemy import Engine, text

#: one body in four is a batch of reports; the rest are single tracking events
BATCH_EVERY = 4
BATCH_SIZE = 5


@dataclass(frozen=True)
class Body:
    events: tuple[str, ...]  # ledger ids: "t:<eventId>" or "r:<messageId>"
    raw: bytes


def make_bodies(count: int, run: str | None = None) -> list[Body]:
    """``count`` bodies of unique events, tracking events and report batches mixed."""
    run = run or uuid.uuid4().hex[:8]
    bodies = []
    for n in range(count):
        if n % BATCH_EVERY == 0:
            ids = [f"{run}-{n}-{i}" for i in range(BATCH_SIZE)]
            results = [
                {
                    "messageId": message_id,
                    "to": f"{message_id}@example.com",
                    "status": {"groupId": 3, "groupName": "DELIVERED"},
                    "doneAt": "2024-07-16T17:26:54.966-0300",
                    "callbackData": json.dumps({"qj_contact_id": n}),
                }
                for message_id in ids
            ]
            bodies.append(
                Body(tuple(f"r:{i}" for i in ids), json.dumps({"results": results}).encode())
            )
        else:
            event_id = f"{run}-{n}"
            event = {
                "notificationType": "OPENED",
                "eventId": event_id,
                "recipient": f"{event_id}@example.com",
                "messageId": f"msg-{event_id}",
                "callbackData": json.dumps({"qj_contact_id": n}),
            }
            bodies.append(Body((f"t:{event_id}",), json.dumps(event).encode()))
    return bodies


@dataclass
class Ledger:
    posted: set[str] = field(default_factory=set)
    answered: set[str] = field(default_factory=set)
    statuses: Counter[int] = field(default_factory=Counter)
    client_errors: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    unsure: set[str] = field(default_factory=set)  # no answer seen: may or may not be kept
    refused: set[str] = field(default_factory=set)  # answered 5xx
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, body: Body, status: int | None, latency: float, error: str = "") -> None:
        with self._lock:
            self.posted.update(body.events)
            self.latencies.append(latency)
            if status is None:
                self.client_errors[error] += 1
                self.unsure.update(body.events)
                return
            self.statuses[status] += 1
            if status == 200:
                self.answered.update(body.events)
            elif status >= 500:
                self.refused.update(body.events)

    @property
    def max_latency(self) -> float:
        return max(self.latencies, default=0.0)

    def summary(self) -> str:
        return (
            f"posted={len(self.posted)} answered200={len(self.answered)} "
            f"statuses={dict(self.statuses)} client_errors={dict(self.client_errors)} "
            f"max_latency={self.max_latency:.3f}s"
        )


def post_all(
    base_url: str,
    bodies: list[Body],
    *,
    concurrency: int = 8,
    duration: float = 0.0,
    timeout: float = 10.0,
    ledger: Ledger | None = None,
    started: threading.Event | None = None,
) -> Ledger:
    """POST every body (spread over ``duration`` seconds) from ``concurrency`` connections."""
    ledger = ledger or Ledger()
    # Clients are made up front (each costs tens of ms), so that the load starts at once.
    idle: queue.SimpleQueue[httpx.Client] = queue.SimpleQueue()
    clients = [httpx.Client(timeout=timeout) for _ in range(concurrency)]
    for client in clients:
        idle.put(client)
    if started is not None:
        started.set()
    start = time.monotonic()
    interval = duration / max(1, len(bodies))
    counter = itertools.count()

    def send(body: Body) -> None:
        due = start + next(counter) * interval
        if (wait := due - time.monotonic()) > 0:
            time.sleep(wait)
        client = idle.get()
        began = time.monotonic()
        try:
            status: int | None = client.post(f"{base_url}/email", content=body.raw).status_code
            error = ""
        except httpx.HTTPError as exc:
            status, error = None, type(exc).__name__
        finally:
            idle.put(client)
        ledger.record(body, status, time.monotonic() - began, error)

    try:
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(send, bodies))
    finally:
        for client in clients:
            client.close()
    return ledger


class Background:
    """Run post_all in a thread, so that a test can break things while the load goes on."""

    def __init__(self, base_url: str, bodies: list[Body], **options: float) -> None:
        self.ledger = Ledger()
        self._thread = threading.Thread(
            target=post_all, args=(base_url, bodies), kwargs={**options, "ledger": self.ledger}
        )

    def __enter__(self) -> Background:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._thread.join()

    @property
    def answered(self) -> int:
        """Bodies answered 200 so far."""
        with self.ledger._lock:
            return self.ledger.statuses[200]

    def wait_answered(self, more: int, timeout: float = 60) -> None:
        """Wait until ``more`` bodies beyond those answered now are answered 200, or the load
        has ended.

        Faults are triggered by the load's progress, not by the clock: on a busy machine the
        load starts late and runs slow, and a fault timed by ``sleep`` could come before the
        first request or after the last.
        """
        target = self.answered + more
        deadline = time.monotonic() + timeout
        while self.answered < target and self._thread.is_alive():
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.answered} answered 200 of {target} awaited")
            time.sleep(0.02)


def stored_events(engine: Engine) -> Counter[str]:
    """Ledger ids of every stored email_callback row (a count above 1 is a duplicate)."""
    sql = text("SELECT kind, provider_event_id, id_externo FROM email_callback")
    with engine.connect() as conn:
        return Counter(
            f"t:{event_id}" if kind == "tracking" else f"r:{message_id}"
            for kind, event_id, message_id in conn.execute(sql)
        )


def assert_exactly_once(
    ledger: Ledger, stored: Counter[str], *, commit_may_be_lost: bool = False
) -> None:
    """Every event answered 200 is stored once; nothing unposted or unanswered is stored.

    ``commit_may_be_lost``: the database crashed mid-run, so a commit it made may never have
    been acknowledged; those bodies were answered 503 and are kept all the same. That is the
    one way a body answered 5xx may be stored: the sender retries it, and it is stored once.
    """
    duplicates = {event: n for event, n in stored.items() if n > 1}
    assert not duplicates, f"stored more than once: {list(duplicates.items())[:5]}"
    missing = ledger.answered - stored.keys()
    assert not missing, f"{len(missing)} answered 200 but not stored: {sorted(missing)[:5]}"
    ambiguous = ledger.refused if commit_may_be_lost else set()
    extra = stored.keys() - ledger.answered - ledger.unsure - ambiguous
    assert not extra, f"{len(extra)} stored but never answered 200: {sorted(extra)[:5]}"


#: one line per scenario run; tests/faults/conftest.py prints them in pytest's summary
PUBLISHED: list[str] = []


def publish(scenario: str, ledger: Ledger, stored: int, backend: str) -> None:
    """Keep a scenario's ledger for the end-of-run summary, so that CI logs carry the figures."""
    PUBLISHED.append(f"{scenario} [{backend}]: {ledger.summary()} stored={stored}")


def assert_moved_once(answered_ids: set[str], inbox_ids: Counter[str]) -> None:
    """Every request answered 200 reached the inbox, and no request's body did so twice.

    Request ids are per attempt (support/sender.py), so a body in the inbox twice under one id
    was moved twice from a spool; a retried report has one id per attempt.
    """
    twice = {request_id: n for request_id, n in inbox_ids.items() if n > 1}
    assert not twice, f"{len(twice)} bodies moved into the inbox twice: {list(twice.items())[:5]}"
    missing = answered_ids - inbox_ids.keys()
    assert not missing, f"{len(missing)} answered 200 but not in the inbox: {sorted(missing)[:5]}"


#: one line per multi-host scenario; tests/multihost/conftest.py prints them
HOSTS_PUBLISHED: list[str] = []
