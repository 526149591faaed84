"""Infobip webhook bodies built for one address at chosen times (shapes of the seed bodies)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson


def stamp(at: datetime) -> str:
    """Infobip's date form: ``2024-07-16T17:26:54.966+0000``."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def report(
    email: str,
    at: datetime,
    group: str,
    *,
    message_id: str,
    error_id: int | None = None,
    permanent: bool | None = None,
    contact: int | None = 7,
) -> dict[str, Any]:
    """One delivery report item (``delivered_dict.json``'s shape)."""
    group_ids = {"PENDING": 1, "UNDELIVERABLE": 2, "DELIVERED": 3, "EXPIRED": 4, "REJECTED": 5}
    item: dict[str, Any] = {
        "bulkId": "bulk-1",
        "messageId": message_id,
        "to": email,
        "sentAt": stamp(at),
        "doneAt": stamp(at),
        "status": {
            "groupId": group_ids[group],
            "groupName": group,
            "id": 5 if group == "DELIVERED" else 4,
            "name": f"{group}_STATUS",
        },
    }
    if error_id is not None:
        item["error"] = {"id": error_id, "name": "E", "permanent": permanent}
    if contact is not None:
        item["callbackData"] = orjson.dumps({"qj_contact_id": contact}).decode()
    return item


def reports(*items: dict[str, Any]) -> bytes:
    return orjson.dumps({"results": list(items)})


def blocklist(email: str, at: datetime, event: str, *, message_id: str = "bl-1") -> bytes:
    """A blocklist webhook body (``blocklist_event_webhook__...json``'s shape)."""
    return orjson.dumps(
        {
            "results": [
                {
                    "event": event,
                    "receivedAt": stamp(at),
                    "messageId": message_id,
                    "content": {
                        "sender": "news@example.com",
                        "destination": email,
                        "channel": "EMAIL",
                        "sourceType": "URL_OPT_OUT",
                    },
                }
            ]
        }
    )
