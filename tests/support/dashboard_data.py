"""Events for the dashboard's tests: campaigns and creditors with known rates."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

import orjson

from emailhook.providers.infobip.parsing import parse_body

#: a campaign name longer than the rollup keeps (it is cut, never refused)
LONG_CAMPAIGN = "c" * 300


def report(
    message_id: str,
    group: str,
    to: str,
    *,
    contact: int,
    campaign: str,
    creditor: str,
    permanent: bool = False,
) -> dict[str, Any]:
    callback = {
        "qj_contact_id": str(contact),
        "qj_approach_flow_campaign": campaign,
        "qj_creditor_name": creditor,
    }
    return {
        "messageId": message_id,
        "to": to,
        "doneAt": "2024-07-16T10:00:00Z",
        "status": {"groupName": group},
        "error": {"id": 6012 if permanent else 6010, "permanent": permanent}
        if group == "UNDELIVERABLE"
        else {"id": 0, "permanent": False},
        "callbackData": json.dumps(callback),
    }


def tracking(
    kind: str, message_id: str, to: str, *, contact: int, campaign: str, creditor: str
) -> dict[str, Any]:
    return {
        "notificationType": kind,
        "eventId": f"{kind}-{message_id}",
        "messageId": message_id,
        "recipient": to,
        "callbackData": json.dumps(
            {
                "qj_contact_id": contact,
                "qj_approach_flow_campaign": campaign,
                "qj_creditor_name": creditor,
            }
        ),
    }


def campaign_bodies() -> list[dict[str, Any]]:
    """Two campaigns: "renegocia" bounces 1 in 4, "boas-vindas" 2 in 3 (the worst)."""
    reno: dict[str, Any] = {"campaign": "renegocia", "creditor": "Banco Azul"}
    welcome: dict[str, Any] = {"campaign": "boas-vindas", "creditor": "Loja Verde"}
    return [
        {
            "results": [
                report("r-1", "DELIVERED", "ana@example.com", contact=501, **reno),
                report("r-2", "DELIVERED", "bia@example.com", contact=502, **reno),
                report("r-3", "DELIVERED", "caio@example.com", contact=503, **reno),
                report(
                    "r-4", "UNDELIVERABLE", "duda@example.com", contact=504, permanent=True, **reno
                ),
                report("w-1", "DELIVERED", "eva@example.com", contact=601, **welcome),
                report("w-2", "UNDELIVERABLE", "fabio@example.com", contact=602, **welcome),
                report(
                    "w-3",
                    "UNDELIVERABLE",
                    "gil@example.com",
                    contact=603,
                    permanent=True,
                    **welcome,
                ),
                report(
                    "l-1",
                    "DELIVERED",
                    "hugo@example.com",
                    contact=701,
                    campaign=LONG_CAMPAIGN,
                    creditor="X",
                ),
            ]
        },
        tracking("OPENED", "r-1", "ana@example.com", contact=501, **reno),
        tracking("OPENED", "r-2", "bia@example.com", contact=502, **reno),
        tracking("CLICKED", "r-1", "ana@example.com", contact=501, **reno),
    ]


def status_counts(bodies: Iterable[bytes | dict[str, Any]]) -> Counter[str]:
    """Count the events of bodies by status, as posted (distinct events only)."""
    events = {}
    for body in bodies:
        decoded = orjson.loads(body) if isinstance(body, bytes) else body
        for event in parse_body(decoded).events:
            events[event.event_key] = event.status or ""
    return Counter(events.values())
