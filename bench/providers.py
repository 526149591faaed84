"""Provider bodies for ``make bench``: ingest (``POST /webhooks/<provider>``, signed as the
provider signs) and drain (kept bodies parsed by their provider and stored) beside Infobip's.

Signed with the test suite's senders (``tests/support/provider_posts.py``: keys made here, the
SNS certificate served by a local HTTP server). Each drained body holds events of its own, so
a drain measures storing, not deduplication; an ingest repeats one signed body, as wrk does
for Infobip's.
"""

from __future__ import annotations

import copy
import hashlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support.provider_posts import TOPIC, Post, Senders  # noqa: E402
from support.signing import sample, unisender_signed  # noqa: E402


@dataclass(frozen=True)
class Workload:
    """One provider body shape: how to make the n-th body, and how many events it holds."""

    label: str
    provider: str
    events: int
    content_type: str
    #: the n-th body, unsigned (for the drain: kept bodies are not authenticated again)
    body: Callable[[int], bytes]
    #: the signed post of body 0 (for the ingest)
    post: Callable[[Senders], Post]


def _sendgrid(n: int, size: int = 100) -> bytes:
    item = sample("sendgrid", "delivered_event")[0]
    items = []
    for i in range(size):
        event = dict(item, email=f"sg-{n}-{i}@example.com", sg_message_id=f"sg-{n}-{i}.filter0")
        event["qj_contact_id"] = i
        items.append(event)
    return json.dumps(items).encode()


def _ses_record(n: int) -> dict[str, Any]:
    record = copy.deepcopy(sample("amazon_ses", "delivery_event"))
    record["mail"]["messageId"] = f"ses-{n}"
    return record


def _ses_envelope(senders: Senders | None, n: int) -> dict[str, Any]:
    envelope = {
        "Type": "Notification",
        "MessageId": hashlib.md5(f"sns-{n}".encode()).hexdigest(),
        "TopicArn": TOPIC,
        "Message": json.dumps(_ses_record(n)),
        "Timestamp": "2026-12-01T12:00:00.000Z",
    }
    return senders.sns.sign(envelope, senders.cert_url) if senders else envelope


def _brevo(n: int, size: int = 500) -> bytes:
    item = sample("brevo", "delivered_event")
    items = [
        dict(item, email=f"br-{n}-{i}@example.com", **{"message-id": f"<br-{n}-{i}@relay>"})
        for i in range(size)
    ]
    return json.dumps(items).encode()


def _unisender_data(n: int, size: int = 100) -> dict[str, Any]:
    data = sample("unisender_go", "multiple_event_option")
    data.pop("auth", None)
    event = data["events_by_user"][0]["events"][0]
    events = []
    for i in range(size):
        one = copy.deepcopy(event)
        one["event_data"]["email"] = f"ug-{n}-{i}@example.com"
        one["event_data"]["job_id"] = f"ug-{n}-{i}"
        events.append(one)
    data["events_by_user"] = [dict(data["events_by_user"][0], events=events)]
    return data


def _signed(senders: Senders, provider: str, body: bytes, name: str) -> Post:
    """``body`` with the proof ``senders`` would give sample ``name`` of ``provider``."""
    return Post(
        provider,
        body,
        {"content-type": "application/json", **senders.proof(provider, name, body, _now())},
    )


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


WORKLOADS = [
    Workload(
        "SendGrid batch of 100",
        "sendgrid",
        100,
        "application/json",
        _sendgrid,
        lambda s: _signed(s, "sendgrid", _sendgrid(0), "bench"),
    ),
    Workload(
        "SES notification (SNS)",
        "amazon_ses",
        1,
        "text/plain; charset=UTF-8",
        lambda n: json.dumps(_ses_envelope(None, n)).encode(),
        lambda s: s.sns_post(_ses_envelope(s, 0)),
    ),
    Workload(
        "Brevo batch of 500",
        "brevo",
        500,
        "application/json",
        _brevo,
        lambda s: _signed(s, "brevo", _brevo(0), "bench"),
    ),
    Workload(
        "Unisender Go batch of 100",
        "unisender_go",
        100,
        "application/json",
        lambda n: unisender_signed(_unisender_data(n), "drain-key"),
        lambda s: Post(
            "unisender_go",
            unisender_signed(_unisender_data(0), s.unisender_key),
            {"content-type": "application/json"},
        ),
    ),
]
