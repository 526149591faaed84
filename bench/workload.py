"""A realistic mix of webhook bodies built from the seed, and storing them as the worker does.

Bodies are copies of the eight seed bodies in tests/data/seed with a unique ``messageId`` (and
``eventId`` for tracking events), the recipient and ``qj_contact_id`` of a random contact, and
the receipt time spread over 30 days. Per message (``MIX``):

- one delivery report, batched 100 a body (``{"results": [...]}``, the shape Infobip sends):
  70 % a copy of one of the five ``delivered_dict`` reports (long Python-literal callbackData
  with campaign and creditor), 23 % ``delivered``, 5 % ``undeliverable`` (hard bounce, 6012),
  2 % ``suppressed_bounce`` (6034);
- tracking events, one a body, each with an ``eventId``: OPENED for 30 % of the delivered
  messages, CLICKED for 8 %, UNSUBSCRIBED 0.5 %, COMPLAINED 0.2 %.

That is about 72 % delivery reports and 28 % tracking events. ``drain`` stores bodies through
``inbox.add_bodies`` and the real ``Processor`` (the worker's code: parse, ``event_store``,
``email_state``, ``rollup``, ``mark_done`` in one transaction per batch), in batches cut as the
relay cuts its messages (up to 2,000 bodies or 5,000 events).
"""

from __future__ import annotations

import json
import random
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from emailhook.adapters import inbox
from emailhook.adapters.models import BodyState
from emailhook.bootstrap import Database
from emailhook.service.processing import Processor, RetryPolicy

SEED = Path(__file__).resolve().parents[1] / "tests" / "data" / "seed"
START = datetime(2026, 1, 1, tzinfo=UTC)
DAYS = 30
REPORTS_PER_BODY = 100
#: the relay's cut: bodies and events per message
RELAY_BODIES, RELAY_EVENTS = 2000, 5000
#: (report template, share) and (tracking template, share of delivered messages)
REPORTS = [("delivered_dict", 0.70), ("delivered", 0.23), ("undeliverable", 0.05)]
REPORT_REST = "suppressed_bounce"
TRACKING = [("opened", 0.30), ("clicked", 0.08), ("unsubscribed", 0.005), ("complained", 0.002)]
MIX = "72 % delivery reports (100 a body), 28 % tracking events with eventId (one a body)"

_LITERAL_CONTACT = re.compile(r"'qj_contact_id': '\d+'")


def _load(name: str) -> dict[str, Any]:
    return dict(json.loads((SEED / f"{name}.json").read_text()))


@dataclass(frozen=True, slots=True)
class Body:
    raw: bytes
    events: int
    shape: str
    received_at: datetime


def address(contact: int) -> str:
    return f"user{contact}@example{contact % 97}.com"


class Mix:
    """Endless bodies of the mix above; deterministic for a seed."""

    def __init__(self, seed: int = 42, contacts: int = 200_000, *, total: int = 1_000_000) -> None:
        self._rnd = random.Random(seed)
        self._contacts = contacts
        self._total = total
        dicts = _load("delivered_dict")["results"]
        self._reports: dict[str, list[dict[str, Any]]] = {
            "delivered_dict": dicts,
            "delivered": _load("delivered")["results"],
            "undeliverable": _load("undeliverable")["results"],
            "suppressed_bounce": [_load("suppressed_bounce")],
        }
        self._tracking = {name: _load(name) for name, _ in TRACKING}
        self.message = 0
        self.produced = 0

    def _received(self) -> datetime:
        span = DAYS * 24 * 3600 * min(1.0, self.produced / self._total)
        return START + timedelta(seconds=span)

    def bodies(self) -> Iterator[Body]:
        """Yield bodies: every 100 messages one report batch, and their tracking events."""
        while True:
            reports: list[dict[str, Any]] = []
            tracking: list[dict[str, Any]] = []
            for _ in range(REPORTS_PER_BODY):
                report, events = self._message()
                reports.append(report)
                tracking += events
            yield self._body({"results": reports}, len(reports), "delivery_reports")
            for event in tracking:
                yield self._body(event, 1, "tracking_event")

    def _body(self, decoded: dict[str, Any], events: int, shape: str) -> Body:
        body = Body(orjson.dumps(decoded), events, shape, self._received())
        self.produced += events
        return body

    def _message(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        rnd = self._rnd
        self.message += 1
        contact = rnd.randrange(1, self._contacts + 1)
        email = address(contact)
        message_id = f"m{self.message:011d}{rnd.getrandbits(32):08x}"
        pick, name = rnd.random(), REPORT_REST
        for candidate, share in REPORTS:
            if pick < share:
                name = candidate
                break
            pick -= share
        report = dict(rnd.choice(self._reports[name]))
        report["messageId"] = message_id
        report["to"] = email
        report["callbackData"] = _with_contact(report["callbackData"], contact)
        events: list[dict[str, Any]] = []
        if report["status"]["groupName"] == "DELIVERED":
            for kind, share in TRACKING:
                if rnd.random() < share:
                    event = dict(self._tracking[kind])
                    event["messageId"] = message_id
                    event["recipient"] = email
                    event["bulkId"] = report["bulkId"]
                    event["eventId"] = f"{rnd.getrandbits(128):032x}"
                    event["callbackData"] = report["callbackData"]
                    events.append(event)
        return report, events


def _with_contact(callback_data: str, contact: int) -> str:
    if callback_data.startswith("{'"):
        return _LITERAL_CONTACT.sub(f"'qj_contact_id': '{contact}'", callback_data)
    return json.dumps({**json.loads(callback_data), "qj_contact_id": contact})


def drain(database: Database, mix: Mix, events: int, *, label: str = "stored") -> float:
    """Store ``events`` (about) through the inbox and the Processor; return events/s."""
    processor = Processor(database.sessions, RetryPolicy())
    source = mix.bodies()
    started, stored, last_print = time.perf_counter(), 0, 0.0
    while stored < events:
        batch: list[Body] = []
        in_batch = 0
        while len(batch) < RELAY_BODIES and in_batch < RELAY_EVENTS and stored + in_batch < events:
            body = next(source)
            batch.append(body)
            in_batch += body.events
        with database.sessions.begin() as session:
            ids = inbox.add_bodies(
                session,
                [
                    inbox.NewBody(b.raw, b.shape, b.events, BodyState.PENDING, b.received_at, None)
                    for b in batch
                ],
            )
        outcome = processor.process(ids)
        if outcome.failed:
            raise RuntimeError(f"bodies failed: {outcome.failed[:5]}")
        stored += in_batch
        now = time.perf_counter()
        if now - last_print > 5 or stored >= events:
            last_print = now
            rate = stored / (now - started)
            end = "\n" if not sys.stdout.isatty() or stored >= events else "\r"
            print(f"  {label}: {stored:>11,} / {events:,} events, {rate:,.0f} events/s", end=end)
            sys.stdout.flush()
    return stored / (time.perf_counter() - started)
