"""``make bench``'s send phase: how fast ``POST /messages`` accepts, and how closely the
workers keep to Infobip's rate.

  accept     POST /messages with 1 and with 1,000 recipients (wrk: req/s, p50/p99), the
             worker stopped: the batch is committed to the outbox before the 202, nothing sent
  rate       a backlog of messages sent to the local fake Infobip (tests/support/fake_senders)
             by two workers sharing one token bucket of EMAILHOOK_INFOBIP_SEND_RATE requests a
             second: the requests counted in each second at the fake (its own timestamps), the
             rate achieved over the full seconds, and the most in any one second
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support.fake_senders import FakeInfobipSender  # noqa: E402
from support.fake_senders.infobip import MESSAGES  # noqa: E402

SEND_KEY = "bench-send-key"
INFOBIP_KEY = "bench-infobip-key"
#: Infobip's max_batch in emailhook: one request carries up to 100 messages
PER_REQUEST = 100
#: how far the achieved rate may fall below the limit (issue 24)
TOLERANCE = 0.05

Web = Callable[[Any], AbstractContextManager[tuple[int, Any]]]
Worker = Callable[..., AbstractContextManager[Any]]
Wrk = Callable[..., dict[str, float]]


def batch(recipients: int, tag: str) -> dict[str, Any]:
    """A ``POST /messages`` body to ``recipients`` addresses, each with its contact id."""
    return {
        "from": "Cobranca <cobranca@example.com>",
        "subject": "Sua fatura, {{name}}",
        "text": "Ola {{name}}, sua fatura vence amanha.",
        "category": "transactional",
        "metadata": {"qj_approach_flow_campaign": "bench", "qj_creditor_name": "Banco"},
        "to": [
            {
                "email": f"{tag}-{n}@example.com",
                "merge_data": {"name": f"Cliente {n}"},
                "metadata": {"qj_contact_id": n + 1},
            }
            for n in range(recipients)
        ],
    }


def send_env(infobip_url: str, rate: float) -> dict[str, str]:
    return {
        "EMAILHOOK_SEND_API_KEYS": SEND_KEY,
        "EMAILHOOK_INFOBIP_BASE_URL": infobip_url,
        "EMAILHOOK_INFOBIP_API_KEY": INFOBIP_KEY,
        "EMAILHOOK_PUBLIC_URL": "https://hooks.example.com",
        "EMAILHOOK_WEBHOOK_TOKENS": "bench-token",
        "EMAILHOOK_INFOBIP_SEND_RATE": f"{rate:g}",
    }


def send_figures(backend: Any, args: Any, web: Web, worker: Worker, wrk: Wrk) -> dict[str, Any]:
    """The accept figures (1 and 1,000 recipients) and the rate figures on ``backend``."""
    figures: dict[str, Any] = {}
    headers = backend.workdir / "send.headers"
    headers.write_text(f"Authorization: Bearer {SEND_KEY}\n")
    with (
        FakeInfobipSender(api_key=INFOBIP_KEY) as infobip,
        backend.more_env(send_env(infobip.url, args.send_rate)),
        web(backend) as (port, _),
    ):
        for recipients, connections in ((1, args.connections), (1000, 4)):
            body = backend.workdir / f"send-{recipients}.json"
            body.write_text(json.dumps(batch(recipients, f"a{recipients}")))
            measured = wrk(port, body, args.seconds, connections, "/messages", headers)
            measured["connections"] = connections
            measured["messages_per_s"] = measured["rps"] * recipients
            figures[f"accept_{recipients}"] = measured
        _settled(backend)  # wrk leaves requests in flight: their batches land after
        clear_outbox(backend)
        figures["rate"] = rate(backend, port, infobip, args, worker)
    return figures


def rate(
    backend: Any, port: int, infobip: FakeInfobipSender, args: Any, worker: Worker
) -> dict[str, Any]:
    """Fill the outbox with more than ``--send-seconds`` of requests at the limit, then send
    it with two workers and count what the fake got in each second."""
    limit = args.send_rate
    messages = int(limit * args.send_seconds * PER_REQUEST)
    with httpx.Client(timeout=60) as client:
        for n in range(math.ceil(messages / 1000)):
            answer = client.post(
                f"http://127.0.0.1:{port}/messages",
                json=batch(1000, f"r{n}"),
                headers={"Authorization": f"Bearer {SEND_KEY}"},
            )
            answer.raise_for_status()
    queued = _scalar(backend, "SELECT count(*) FROM outbox WHERE state = 'queued'")
    with ExitStack() as workers:
        for n in range(2):  # two workers: Celery nodes of one process each
            workers.enter_context(worker(backend, f"send{n}", concurrency=1))
        deadline = time.monotonic() + args.send_seconds * 4 + 120
        while _scalar(backend, "SELECT count(*) FROM outbox WHERE state <> 'sent'") > 0:
            if time.monotonic() > deadline:
                raise RuntimeError("the outbox was not sent in time")
            time.sleep(0.5)
    stamps = [r.at for r in list(infobip.requests) if r.path == MESSAGES]
    return {"limit": limit, "queued": queued, **per_second(stamps, limit)}


def _scalar(backend: Any, sql: str) -> int:
    with backend.engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def _settled(backend: Any) -> None:
    """Wait until the outbox stops growing (the last accepted batches are committed)."""
    count = -1
    while (now := _scalar(backend, "SELECT count(*) FROM outbox")) != count:
        count = now
        time.sleep(1.0)


def clear_outbox(backend: Any) -> None:
    """Empty the outbox and what goes with it (the accept phases' messages are not sent)."""
    with backend.engine.begin() as conn:
        for table in ("send_attempt", "outbox", "message"):
            conn.execute(text(f"DELETE FROM {table}"))


def per_second(stamps: list[float], limit: float) -> dict[str, Any]:
    """Requests counted in each second from the first (the last, partial second apart): the
    achieved rate over the full seconds, the most in one second, and whether both hold."""
    if not stamps:
        return {"requests": 0, "ok": False}
    stamps = sorted(stamps)
    first = stamps[0]
    seconds = int(stamps[-1] - first)  # full seconds
    counts = [0] * (seconds + 1)
    for at in stamps:
        counts[int(at - first)] += 1
    full = counts[:seconds] or counts
    achieved = sum(full) / len(full)
    busiest = max(counts)
    window = max(_in_window(stamps, i) for i in range(len(stamps)))
    return {
        "requests": len(stamps),
        "seconds": len(full),
        "achieved_per_s": achieved,
        "achieved_ratio": achieved / limit,
        "max_in_a_second": busiest,
        "max_in_any_1s_window": window,
        "per_second": counts,
        "ok": achieved >= limit * (1 - TOLERANCE) and busiest <= limit,
    }


def _in_window(stamps: list[float], start: int) -> int:
    """Requests in the second that begins at ``stamps[start]`` (half-open)."""
    end = start
    while end < len(stamps) and stamps[end] < stamps[start] + 1.0:
        end += 1
    return end - start


def render(report: dict[str, Any], names: list[str]) -> str:
    """The send phase's table, one column per backend."""

    def cell(name: str, show: Callable[[dict[str, Any]], str]) -> str:
        try:
            return show(report[name]["send"])
        except (KeyError, TypeError):
            return "-"

    def accept(n: int) -> Callable[[dict[str, Any]], str]:
        return lambda f: "{rps:.0f} ({p50_ms:.1f}/{p99_ms:.1f})".format(**f[f"accept_{n}"])

    rows: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("POST /messages, 1 recipient: req/s (p50/p99 ms)", accept(1)),
        ("POST /messages, 1,000 recipients: req/s (p50/p99 ms)", accept(1000)),
        (
            "POST /messages, 1,000 recipients: messages/s",
            lambda f: f"{f['accept_1000']['messages_per_s']:.0f}",
        ),
        (
            "send at the limit (2 workers): limit / achieved req/s",
            lambda f: "{limit:g} / {achieved_per_s:.2f}".format(**f["rate"]),
        ),
        (
            "send: achieved / limit; most in one second; in any 1 s window",
            lambda f: "{achieved_ratio:.1%}; {max_in_a_second}; {max_in_any_1s_window}".format(
                **f["rate"]
            ),
        ),
    ]
    lines = ["| send | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    lines += [
        f"| {label} | " + " | ".join(cell(n, show) for n in names) + " |" for label, show in rows
    ]
    return "\n".join(lines)
