"""``make bench``'s two-provider phase: the send rate to two fake providers at once, each at its
own limit.

  two_providers  a backlog for the local fake Infobip (EMAILHOOK_INFOBIP_SEND_RATE, 100
                 messages a request) and the local fake Mailjet (EMAILHOOK_MAILJET_SEND_RATE,
                 50 a request), each request of ``POST /messages`` naming its provider, the
                 two interleaved in the outbox in the ratio of their request rates; two workers
                 (as the send phase; ``--two-send-workers``) send it. For each fake: the rate
                 achieved over the full seconds as a fraction of its limit, and the most
                 requests in any one second (never above the limit)
"""

from __future__ import annotations

import math
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from bench.sending import (  # noqa: E402
    INFOBIP_KEY,
    SEND_KEY,
    Web,
    Worker,
    clear_outbox,
    per_second,
    send_env,
)
from support.fake_senders import FakeInfobipSender, FakeMailjet  # noqa: E402
from support.fake_senders.infobip import MESSAGES  # noqa: E402
from support.fake_senders.mailjet import SEND as MAILJET_SEND  # noqa: E402

MAILJET_KEY, MAILJET_SECRET = "bench-mailjet-key", "bench-mailjet-secret"
#: each provider's messages a request (its ``max_batch`` in emailhook)
PER_REQUEST = {"infobip": 100, "mailjet": 50}
#: messages posted a round (``_fill``): both providers', in the ratio of their messages
POSTED = 100


def two_providers_env(
    infobip_url: str, mailjet_url: str, rates: dict[str, float]
) -> dict[str, str]:
    return {
        **send_env(infobip_url, rates["infobip"]),
        "EMAILHOOK_MAILJET_API_KEY": MAILJET_KEY,
        "EMAILHOOK_MAILJET_SECRET_KEY": MAILJET_SECRET,
        "EMAILHOOK_MAILJET_API_URL": mailjet_url,
        "EMAILHOOK_MAILJET_SEND_RATE": f"{rates['mailjet']:g}",
    }


def body(provider: str, recipients: int, tag: str) -> dict[str, Any]:
    """A ``POST /messages`` body naming ``provider``, to ``recipients`` addresses."""
    return {
        "provider": provider,
        "from": "Cobranca <cobranca@example.com>",
        "subject": "Sua fatura",
        "text": "Ola, sua fatura vence amanha.",
        "category": "transactional",
        "metadata": {"qj_approach_flow_campaign": "bench"},
        "to": [
            {"email": f"{tag}-{n}@example.com", "metadata": {"qj_contact_id": n + 1}}
            for n in range(recipients)
        ],
    }


def two_provider_figures(backend: Any, args: Any, web: Web, worker: Worker) -> dict[str, Any]:
    """Fill the outbox with ``--two-send-seconds`` of requests at each provider's limit, the
    two interleaved, send it with ``--two-send-workers`` workers, and count what each fake got
    in each second."""
    rates = {"infobip": args.send_rate, "mailjet": args.mailjet_send_rate}
    messages = {p: int(rates[p] * args.two_send_seconds * PER_REQUEST[p]) for p in rates}
    with (
        FakeInfobipSender(api_key=INFOBIP_KEY) as infobip,
        FakeMailjet(api_key=MAILJET_KEY, secret_key=MAILJET_SECRET) as mailjet,
        backend.more_env(two_providers_env(infobip.url, mailjet.url, rates)),
    ):
        with web(backend) as (port, _):
            _fill(port, messages)
        queued = _scalar(backend, "SELECT count(*) FROM outbox WHERE state = 'queued'")
        with ExitStack() as workers:
            for n in range(args.two_send_workers):  # Celery nodes of one process each
                workers.enter_context(worker(backend, f"pair{n}", concurrency=1))
            # counted from when the last worker is ready: the first sends while the
            # others start (a second or more of CPU each on this 2-core machine)
            started = time.monotonic()
            deadline = time.monotonic() + args.two_send_seconds * 4 + 120
            while _scalar(backend, "SELECT count(*) FROM outbox WHERE state <> 'sent'") > 0:
                if time.monotonic() > deadline:
                    raise RuntimeError("the outbox was not sent in time")
                time.sleep(0.5)
    stamps = {
        "infobip": [r.at for r in infobip.requests if r.path == MESSAGES and r.at >= started],
        "mailjet": [r.at for r in mailjet.requests if r.path == MAILJET_SEND and r.at >= started],
    }
    figures: dict[str, Any] = {"queued": queued, "workers": args.two_send_workers}
    for provider, limit in rates.items():
        figures[provider] = {
            "limit": limit,
            **per_second(stamps[provider], limit),
            "tightest_span_s": tightest_span(stamps[provider], limit),
        }
    clear_outbox(backend)
    return figures


def tightest_span(stamps: list[float], limit: float) -> float | None:
    """Return the shortest time from a request to the ``limit``-th after it (under 1 s: more
    than ``limit`` requests in some second), or None with too few requests."""
    ordered, reach = sorted(stamps), math.floor(limit)
    spans = [ordered[i + reach] - ordered[i] for i in range(len(ordered) - reach)]
    return min(spans) if spans else None


def _fill(port: int, messages: dict[str, int]) -> None:
    """Post both providers' messages, interleaved: ``POSTED`` messages a round, shared in the
    ratio of the providers' messages, so that the relay publishes their tasks mixed."""
    total = sum(messages.values())
    rounds = math.ceil(total / POSTED)
    left = dict(messages)
    with httpx.Client(timeout=60) as client:
        for n in range(rounds):
            for provider, wanted in messages.items():
                size = min(left[provider], math.ceil(wanted / rounds))
                if size <= 0:
                    continue
                answer = client.post(
                    f"http://127.0.0.1:{port}/messages",
                    json=body(provider, size, f"{provider}{n}"),
                    headers={"Authorization": f"Bearer {SEND_KEY}"},
                )
                answer.raise_for_status()
                left[provider] -= size


def _scalar(backend: Any, sql: str) -> int:
    with backend.engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def render(report: dict[str, Any], names: list[str]) -> str:
    """The phase's table, one column per backend."""

    def workers(name: str) -> str:
        return str(report.get(name, {}).get("two_providers", {}).get("workers", "-"))

    def cell(name: str, provider: str) -> str:
        try:
            f = report[name]["two_providers"][provider]
            return (
                "{limit:g} / {achieved_per_s:.2f} = {achieved_ratio:.1%}; {max_in_a_second};"
                " {max_in_any_1s_window}; {tightest_span_s:.3f}"
            ).format(**f)
        except (KeyError, TypeError):
            return "-"

    lines = [
        "| two providers at once | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
        "| workers | " + " | ".join(workers(n) for n in names) + " |",
    ]
    for provider in PER_REQUEST:
        label = (
            f"{provider}: limit / achieved req/s = ratio; most in one second; in any 1 s"
            "; shortest span of limit + 1 requests, s"
        )
        lines.append(f"| {label} | " + " | ".join(cell(n, provider) for n in names) + " |")
    return "\n".join(lines)
