"""A sender like Infobip: every report posted until answered 200, retried later otherwise.

Each report is the seed ``delivered.json`` with its own messageId (and recipient and contact).
Posts go round robin over the web hosts; an answer other than 200, a connection error and a
timeout put the report back, due again ``retry_seconds`` later (at the next host in turn),
until it is answered 200 or the deadline passes. Each attempt carries its own request id,
``<messageId>.<attempt>``, which the inbox keeps: a body moved twice shows as one id twice.
"""

from __future__ import annotations

import copy
import heapq
import itertools
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from support.ledger import Body, Ledger
from support.netns import NetnsThreads

SEED = Path(__file__).resolve().parents[1] / "data" / "seed" / "delivered.json"


def delivery_reports(count: int, run: str) -> list[Body]:
    """``count`` one-report bodies, the seed delivery report with a unique messageId each."""
    template = json.loads(SEED.read_text())
    bodies = []
    for n in range(count):
        body = copy.deepcopy(template)
        report = body["results"][0]
        report["messageId"] = message_id = f"{run}-{n}"
        report["to"] = f"{message_id}@example.com"
        report["callbackData"] = json.dumps({"qj_contact_id": n})
        bodies.append(Body((f"r:{message_id}",), json.dumps(body).encode()))
    return bodies


@dataclass
class Sender:
    """Posts ``bodies`` over ``duration`` seconds from ``concurrency`` threads in ``netns``."""

    netns: str
    urls: list[str]
    bodies: list[Body]
    concurrency: int = 12
    duration: float = 15.0
    retry_seconds: float = 1.0
    deadline_seconds: float = 150.0
    timeout: float = 5.0
    ledger: Ledger = field(default_factory=Ledger)
    #: request ids answered 200, and answers by web host
    answered_ids: set[str] = field(default_factory=set)
    by_host: dict[str, Counter[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._due: list[tuple[float, int, int]] = []  # (due, attempt, body index)
        self._cond = threading.Condition()
        self._left = len(self.bodies)
        self._round_robin = itertools.count()
        self._pool = NetnsThreads(self.netns, self.concurrency)
        self._futures: list[object] = []
        self.by_host = {url: Counter() for url in self.urls}

    def start(self) -> Sender:
        self._started = time.monotonic()
        self._deadline = self._started + self.deadline_seconds
        interval = self.duration / max(1, len(self.bodies))
        self._due = [(self._started + n * interval, 0, n) for n in range(len(self.bodies))]
        heapq.heapify(self._due)
        self._futures = [self._pool.submit(self._work) for _ in range(self.concurrency)]
        return self

    @property
    def answered(self) -> int:
        return len(self.ledger.answered)

    def wait_answered(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.answered < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"only {self.answered} answered 200 of {count} awaited")
            time.sleep(0.05)

    def join(self) -> Ledger:
        for future in self._futures:
            future.result()  # type: ignore[attr-defined]
        self._pool.close()
        return self.ledger

    def _next(self) -> tuple[int, int] | None:
        with self._cond:
            while True:
                if self._left == 0 or time.monotonic() > self._deadline:
                    self._cond.notify_all()
                    return None
                if self._due:
                    due, attempt, index = self._due[0]
                    wait = due - time.monotonic()
                    if wait <= 0:
                        heapq.heappop(self._due)
                        return attempt, index
                    self._cond.wait(min(wait, 0.5))
                else:
                    self._cond.wait(0.5)

    def _work(self) -> None:
        with httpx.Client(timeout=self.timeout) as client:
            while (item := self._next()) is not None:
                attempt, index = item
                body = self.bodies[index]
                url = self.urls[next(self._round_robin) % len(self.urls)]
                request_id = f"{body.events[0][2:]}.{attempt}"
                began = time.monotonic()
                try:
                    response = client.post(
                        url, content=body.raw, headers={"X-Request-Id": request_id}
                    )
                    status: int | None = response.status_code
                    error = ""
                except httpx.HTTPError as exc:
                    status, error = None, type(exc).__name__
                self.ledger.record(body, status, time.monotonic() - began, error)
                with self._cond:
                    self.by_host[url][str(status or error)] += 1
                    if status == 200:
                        self.answered_ids.add(request_id)
                        self._left -= 1
                        self._cond.notify_all()
                    else:
                        again = (time.monotonic() + self.retry_seconds, attempt + 1, index)
                        heapq.heappush(self._due, again)
