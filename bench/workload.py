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
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from emailhook.adapters.db.engine import Database
from emailhook.adapters.inbox import bodies as inbox
from emailhook.composition.policies import retry_policy, soft_bounce_rule
from emailhook.domain.events import EmailEvent
from emailhook.domain.inbox import BodyState
from emailhook.providers.infobip.parsing import parse_body, report_key
from emailhook.service.receive.processing import Processor
from emailhook.settings import Settings

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

#: the contact in either callbackData encoding: 'qj_contact_id': '3' or "qj_contact_id": 3
_CONTACT = re.compile(r"""(['"]qj_contact_id['"]:\s*)(['"]?)\d+\2""")


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
        #: the parsed event of each template item, by id(item): the fast fill's starting point
        self._parsed: dict[int, EmailEvent] = {}
        for items in [*self._reports.values(), [[t] for t in self._tracking.values()]]:
            for item in items:
                one = item[0] if isinstance(item, list) else item
                (self._parsed[id(one)],) = parse_body(one).events

    def _received(self) -> datetime:
        span = DAYS * 24 * 3600 * min(1.0, self.produced / self._total)
        return START + timedelta(seconds=span)

    def bodies(self) -> Iterator[Body]:
        """Yield bodies: every 100 messages one report batch, and their tracking events."""
        for body, _ in self.bodies_with_events():
            yield body

    def bodies_with_events(self) -> Iterator[tuple[Body, list[EmailEvent]]]:
        """Yield bodies with their events, built from each template's parsed event.

        The events are what ``parse_body`` gives for the body (``check_fast_events`` proves it
        on a sample) without parsing it: the fast fill skips the parser's cost, mostly
        ``ast.literal_eval`` of the long Python-literal callbackData.
        """
        while True:
            reports: list[tuple[dict[str, Any], EmailEvent]] = []
            tracking: list[tuple[dict[str, Any], EmailEvent]] = []
            for _ in range(REPORTS_PER_BODY):
                report, events = self._message()
                reports.append(report)
                tracking += events
            batch = {"results": [item for item, _ in reports]}
            yield (
                self._body(batch, len(reports), "delivery_reports"),
                [event for _, event in reports],
            )
            for item, event in tracking:
                yield self._body(item, 1, "tracking_event"), [event]

    def _body(self, decoded: dict[str, Any], events: int, shape: str) -> Body:
        body = Body(orjson.dumps(decoded), events, shape, self._received())
        self.produced += events
        return body

    def _message(
        self,
    ) -> tuple[tuple[dict[str, Any], EmailEvent], list[tuple[dict[str, Any], EmailEvent]]]:
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
        template = rnd.choice(self._reports[name])
        report = dict(template)
        report["messageId"] = message_id
        report["to"] = email
        report["callbackData"] = _with_contact(template["callbackData"], contact)
        parsed = self._parsed[id(template)]
        data = _contact_data(parsed.callback_data, contact)
        key = report_key(
            message_id,
            email,
            parsed.status,
            parsed.status_name,
            parsed.event_at.isoformat() if parsed.event_at else None,
            parsed.error_id,
        )
        first = (
            report,
            replace(
                parsed,
                event_key=key,
                email=email,
                message_id=message_id,
                qj_contact_id=contact,
                callback_data=data,
                callback_data_raw=report["callbackData"],
                raw=report,
            ),
        )
        events: list[tuple[dict[str, Any], EmailEvent]] = []
        if report["status"]["groupName"] == "DELIVERED":
            for kind, share in TRACKING:
                if rnd.random() < share:
                    source = self._tracking[kind]
                    event = dict(source)
                    event["messageId"] = message_id
                    event["recipient"] = email
                    event["bulkId"] = report["bulkId"]
                    event["eventId"] = f"{rnd.getrandbits(128):032x}"
                    event["callbackData"] = report["callbackData"]
                    tracked = replace(
                        self._parsed[id(source)],
                        event_key=f"ev:{event['eventId']}",
                        email=email,
                        message_id=message_id,
                        bulk_id=report["bulkId"],
                        provider_event_id=event["eventId"],
                        qj_contact_id=contact,
                        campaign=parsed.campaign,
                        creditor_id=parsed.creditor_id,
                        creditor_name=parsed.creditor_name,
                        callback_data=data,
                        callback_data_raw=event["callbackData"],
                        raw=event,
                    )
                    events.append((event, tracked))
        return first, events


def _contact_data(data: dict[str, Any] | None, contact: int) -> dict[str, Any] | None:
    if data is None:
        return None
    # The literal templates carry the contact as text ('124127953'), the JSON ones as a number.
    was = data.get("qj_contact_id")
    return {**data, "qj_contact_id": str(contact) if isinstance(was, str) else contact}


def check_fast_events(bodies: int = 300) -> None:
    """Fail unless the fast events of ``bodies`` bodies are exactly what the parser gives."""
    for n, (body, events) in enumerate(Mix(seed=42).bodies_with_events()):
        if n >= bodies:
            return
        parsed = parse_body(orjson.loads(body.raw)).events
        if parsed != events:
            wrong = next(i for i, (a, b) in enumerate(zip(parsed, events, strict=True)) if a != b)
            raise AssertionError(f"body {n} event {wrong}: {parsed[wrong]} != {events[wrong]}")


def _with_contact(callback_data: str, contact: int) -> str:
    """Return the text with another qj_contact_id, its quoting and escapes as they were."""
    return _CONTACT.sub(lambda m: f"{m[1]}{m[2]}{contact}{m[2]}", callback_data, count=1)


def drain(database: Database, mix: Mix, events: int, *, label: str = "stored") -> float:
    """Store ``events`` (about) through the inbox and the Processor; return events/s."""
    processor = Processor(
        database.sessions, retry_policy(Settings()), soft_bounces=soft_bounce_rule(Settings())
    )
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
