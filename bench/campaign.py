"""``make bench``'s campaign phase: a campaign of a million recipients accepted, then sent.

accept  a JSON Lines file of ``--campaign-recipients`` recipients (merge data and a
        ``qj_contact_id`` each; one line in 1,000 an address again, one address in 1,000
        on the suppression list) posted to ``POST /campaigns`` of the web as ``emailhook
        serve`` runs it, streamed: the seconds until the 202 (every recipient committed),
        recipients a second, and the web's peak RSS
send    the campaign, at a rate of its own twice the provider's, sent by two
        workers to the local fake Infobip (EMAILHOOK_INFOBIP_SEND_RATE requests a second,
        100 messages each) for ``--campaign-send-seconds``: requests counted in each second
        at the fake, the rate achieved over the full seconds against the limit, the most in
        any second, and the workers' peak RSS
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import text

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from bench.sending import (  # noqa: E402
    INFOBIP_KEY,
    PER_REQUEST,
    SEND_KEY,
    Web,
    Worker,
    per_second,
    send_env,
)
from support.fake_senders import FakeInfobipSender  # noqa: E402
from support.fake_senders.infobip import MESSAGES  # noqa: E402

#: one line in this many repeats an earlier address; one address in this many is suppressed
DUPLICATE_EVERY = 1000
SUPPRESSED_EVERY = 1000
#: the campaign's own rate, over the provider's messages a second: the provider's limit is
#: the one that binds, and each relay pass has tokens for whole tasks of 100
CAMPAIGN_OVER_LIMIT = 2.0
#: bytes posted at once
_CHUNK = 256 * 1024


def message(rate: float) -> dict[str, Any]:
    """The campaign's message: the first line."""
    return {
        "from": "Cobranca <cobranca@example.com>",
        "subject": "Ola {{name}}, sua fatura",
        "text": "Ola {{name}}, sua fatura de {{valor}} vence amanha.",
        "html": "<p>Ola <b>{{name}}</b>, sua fatura de {{valor}} vence amanha.</p>",
        "category": "transactional",
        "metadata": {"qj_approach_flow_campaign": "bench", "qj_firing_id": 1},
        "rate": rate,
    }


def address(n: int) -> str:
    return f"cliente{n}@example.com"


def write_file(path: Path, recipients: int, rate: float) -> dict[str, int]:
    """Write the upload; return how many lines repeat an address."""
    duplicates = 0
    with path.open("wb") as out:
        out.write(orjson.dumps(message(rate)) + b"\n")
        for n in range(recipients):
            again = n % DUPLICATE_EVERY == DUPLICATE_EVERY - 1
            duplicates += again
            who = n - DUPLICATE_EVERY // 2 if again else n
            line = {
                "email": address(who),
                "name": f"Cliente {who}",
                "merge_data": {"name": f"Cliente {who}", "valor": f"R$ {who % 997},{who % 89:02}"},
                "metadata": {"qj_contact_id": 1_000_000 + who},
            }
            out.write(orjson.dumps(line) + b"\n")
    return {"lines": recipients, "duplicates": duplicates}


def suppress(backend: Any, recipients: int) -> int:
    """Put one address in ``SUPPRESSED_EVERY`` on the list (hard bounces); return how many."""
    at = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=1)
    rows = [
        {"e": address(n), "t": at}
        for n in range(SUPPRESSED_EVERY // 2, recipients, SUPPRESSED_EVERY)
        if n % DUPLICATE_EVERY != DUPLICATE_EVERY - 1
    ]
    with backend.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO suppression_evidence (email, reason, source, first_at, last_at)"
                " VALUES (:e, 'hard_bounce', 'emailhook', :t, :t)"
            ),
            rows,
        )
    return len(rows)


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            yield chunk


def campaign_figures(backend: Any, args: Any, web: Web, worker: Worker) -> dict[str, Any]:
    """The accept and send figures of one campaign on ``backend``."""
    recipients = args.campaign_recipients
    limit = args.send_rate
    upload = backend.workdir / "campaign.jsonl"
    written = write_file(upload, recipients, rate=limit * PER_REQUEST * CAMPAIGN_OVER_LIMIT)
    suppressed = suppress(backend, recipients)
    figures: dict[str, Any] = {"recipients": recipients, "suppressed_on_list": suppressed}
    figures["file_mb"] = upload.stat().st_size / 1e6
    with (
        FakeInfobipSender(api_key=INFOBIP_KEY) as infobip,
        backend.more_env(send_env(infobip.url, limit)),
    ):
        with web(backend) as (port, web_process):
            started = time.monotonic()
            with httpx.Client(timeout=None) as client:
                answer = client.post(
                    f"http://127.0.0.1:{port}/campaigns",
                    content=_chunks(upload),
                    headers={
                        "Authorization": f"Bearer {SEND_KEY}",
                        "Content-Type": "application/x-ndjson",
                    },
                )
            seconds = time.monotonic() - started
            answer.raise_for_status()
            from bench.run import peak_rss_mb

            figures["accept"] = {
                **answer.json(),
                "lines_duplicated": written["duplicates"],
                "seconds": seconds,
                "recipients_per_s": recipients / seconds,
                "web_rss_mb": peak_rss_mb(web_process.pid),
            }
        figures["send"] = _send(backend, args, infobip, worker)
    upload.unlink()
    return figures


def _send(backend: Any, args: Any, infobip: FakeInfobipSender, worker: Worker) -> dict[str, Any]:
    """Send the campaign for ``--campaign-send-seconds`` with two workers; count at the fake."""
    from bench.run import peak_rss_mb

    limit = args.send_rate
    rss: list[float] = []
    with ExitStack() as workers:
        processes = [
            workers.enter_context(worker(backend, f"campaign{n}", concurrency=1)) for n in range(2)
        ]
        started = time.monotonic()  # counted from when the last worker is ready
        time.sleep(args.campaign_send_seconds)
        rss = [peak_rss_mb(process.pid) for process in processes]
    stamps = [
        r.at
        for r in list(infobip.requests)
        if r.path == MESSAGES and started <= r.at < started + args.campaign_send_seconds
    ]
    with backend.engine.connect() as conn:
        sent = int(conn.execute(text("SELECT count(*) FROM outbox WHERE state = 'sent'")).scalar())
    return {
        "limit": limit,
        "seconds_sending": time.monotonic() - started,
        "messages_sent": sent,
        "worker_rss_mb": max(rss),
        **per_second(stamps, limit),
    }


def render(report: dict[str, Any], names: list[str]) -> str:
    """The phase's table, one column per backend."""

    def cell(name: str, show: Any) -> str:
        try:
            return str(show(report[name]["campaign"]))
        except (KeyError, TypeError):
            return "-"

    rows: list[tuple[str, Any]] = [
        (
            "campaign: recipients (file MB); duplicates; suppressed",
            lambda f: "{recipients} ({file_mb:.0f}); {duplicates}; {suppressed}".format(
                file_mb=f["file_mb"], **f["accept"]
            ),
        ),
        (
            "accepted in s (recipients/s)",
            lambda f: "{seconds:.1f} ({recipients_per_s:.0f})".format(**f["accept"]),
        ),
        ("peak web RSS during the upload, MB", lambda f: f"{f['accept']['web_rss_mb']:.0f}"),
        (
            "send (2 workers): limit / achieved req/s = ratio",
            lambda f: "{limit:g} / {achieved_per_s:.2f} = {achieved_ratio:.1%}".format(**f["send"]),
        ),
        (
            "send: most requests in one second; in any 1 s window",
            lambda f: "{max_in_a_second}; {max_in_any_1s_window}".format(**f["send"]),
        ),
        ("peak worker RSS while sending, MB", lambda f: f"{f['send']['worker_rss_mb']:.0f}"),
    ]
    lines = ["| campaign | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    lines += [
        f"| {label} | " + " | ".join(cell(n, show) for n in names) + " |" for label, show in rows
    ]
    return "\n".join(lines)
