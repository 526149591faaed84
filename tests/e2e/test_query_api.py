"""End to end: data posted through POST /email, read back through the query API."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from conftest import SEED_EVENTS
from support.http_calls import http_get
from support.stack import Stack

pytestmark = pytest.mark.e2e


def get(stack: Stack, path: str, **params: Any) -> httpx.Response:
    return http_get(f"{stack.base_url}{path}", params=params, timeout=10)


def post_in_turn(stack: Stack, *bodies: dict[str, Any] | bytes) -> None:
    """Post each body and let the worker store it before the next: the arrival order."""
    for body in bodies:
        assert stack.post(body).status_code == 200
        stack.wait_until_drained()


TODAY = datetime.now(UTC).date()


def report(message_id: str, group: str, done_at: str, contact: int, to: str, **error: Any):
    return {
        "messageId": message_id,
        "to": to,
        "doneAt": done_at,
        "status": {"groupName": group},
        "error": {"id": error.get("id", 0), "permanent": error.get("permanent", False)},
        "callbackData": json.dumps({"qj_contact_id": contact}),
    }


def tracking(kind: str, message_id: str, contact: int, to: str) -> dict[str, Any]:
    return {
        "notificationType": kind,
        "eventId": f"{kind}-{message_id}-{contact}",
        "messageId": message_id,
        "recipient": to,
        "callbackData": json.dumps({"qj_contact_id": contact}),
    }


def test_email_callbacks_filter_and_page_through_every_posted_event(
    stack: Stack, seed_bodies: dict[str, bytes]
) -> None:
    for body in seed_bodies.values():
        assert stack.post(body).status_code == 200
    stack.wait_for_events(SEED_EVENTS)
    stack.wait_until_drained()

    seen: list[int] = []
    cursor = None
    while True:
        page = get(stack, "/email-callbacks", limit=5, **({"cursor": cursor} if cursor else {}))
        assert page.status_code == 200
        seen += [item["id"] for item in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == SEED_EVENTS == len(set(seen))
    assert seen == sorted(seen, reverse=True)

    def count(**params: Any) -> int:
        response = get(stack, "/email-callbacks", **params)
        assert response.status_code == 200, response.text
        return len(response.json()["items"])

    assert count(qj_contact_id=3) == 6
    assert count(email="JOAO.MADERO@quite.com.br") == 4
    assert count(status="complained") == 1
    assert count(id_externo="14b734recsf69n8zkao5") == 2
    assert count(until="2000-01-01T00:00:00Z") == 0
    assert count(since="2000-01-01T00:00:00-03:00", qj_contact_id=310372388) == 1
    bad = get(stack, "/email-callbacks", since="yesterday")
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_query")
    # status is any provider's own name as stored (issue 23): an unknown one matches nothing;
    # the vocabulary's filters take their own values only
    assert count(status="NOPE") == 0
    assert get(stack, "/email-callbacks", event_type="NOPE").status_code == 400
    assert get(stack, "/email-callbacks", limit=0).status_code == 400


def story(contact: int, to: str = "maria@example.com") -> dict[str, dict[str, Any]]:
    """One message's life: sent, delivered, opened, then bounced late."""
    message = f"m-{contact}"
    return {
        "sent": report(message, "PENDING", "2024-07-16T10:00:00Z", contact, to),
        "delivered": report(message, "DELIVERED", "2024-07-16T10:00:05Z", contact, to),
        "opened": tracking("OPENED", message, contact, to),
        "late_bounce": tracking("LATE_BOUNCE", message, contact, to),
    }


def test_contact_status_ignores_arrival_order_and_duplicates(stack: Stack) -> None:
    in_order = story(101)
    post_in_turn(stack, *in_order.values())
    shuffled = story(102)
    post_in_turn(
        stack,
        *(shuffled[name] for name in ("late_bounce", "opened", "late_bounce", "delivered")),
        *(shuffled[name] for name in ("sent", "delivered")),
        {"results": [shuffled["sent"], shuffled["delivered"]]},
    )

    (first,) = get(stack, "/contacts/101").json()["emails"]
    (second,) = get(stack, "/contacts/102").json()["emails"]
    for state in (first, second):
        assert state["email"] == "maria@example.com"
        # a late bounce is a hard bounce in the vocabulary (issue 23): it overrides DELIVERED
        assert state["status"] == "HARD_BOUNCE"
        assert state["counts"] == {"DELIVERED": 1, "HARD_BOUNCE": 1, "OPENED": 1, "PENDING": 1}
        assert state["suppression"]["reason"] == "hard_bounce"
    assert get(stack, "/contacts/999").status_code == 404
    assert get(stack, "/contacts/not-a-number").status_code == 400
    events = get(stack, "/email-callbacks", qj_contact_id=102).json()["items"]
    assert len(events) == 4


def test_a_late_delivered_never_hides_an_earlier_bounce_or_complaint(stack: Stack) -> None:
    to = "ana@example.com"
    bounce = report(
        "b-1", "UNDELIVERABLE", "2024-07-16T10:00:00Z", 200, to, id=6012, permanent=True
    )
    complaint = tracking("COMPLAINED", "c-1", 200, "bia@example.com")
    post_in_turn(stack, bounce, complaint)
    post_in_turn(
        stack,
        report("b-2", "DELIVERED", "2024-07-20T10:00:00Z", 200, to),
        report("c-2", "DELIVERED", "2024-07-20T10:00:00Z", 200, "bia@example.com"),
    )
    emails = {e["email"]: e for e in get(stack, "/contacts/200").json()["emails"]}
    assert emails[to]["status"] == "HARD_BOUNCE"
    assert emails[to]["status_since"] == "2024-07-16T10:00:00+00:00"
    assert emails[to]["last_event"]["event_status"] == "DELIVERED"
    assert emails["bia@example.com"]["status"] == "COMPLAINED"


def test_suppressions_list_every_reason_as_json_and_as_csv(
    stack: Stack, seed_bodies: dict[str, bytes]
) -> None:
    for body in seed_bodies.values():
        assert stack.post(body).status_code == 200
    # soft bounces of this week: a soft-bounce suppression ends some days after the last one
    # (EMAILHOOK_SOFT_BOUNCE_SUPPRESSION_DAYS), so old ones would be over already
    days = {n: (TODAY + timedelta(days=n - 6)).isoformat() + "T00:00:00Z" for n in (1, 3, 5)}
    soft = [report(f"s-{n}", "UNDELIVERABLE", days[n], 300, "soft@example.com") for n in (1, 3, 5)]
    post_in_turn(stack, soft[2], soft[0], soft[0])
    assert "soft@example.com" not in {
        s["email"] for s in get(stack, "/suppressions").json()["items"]
    }
    post_in_turn(stack, soft[1])

    expected = {
        "joao.madero@quite.com.br": "hard_bounce",
        "john.doe@some-domain.com": "complaint",
        "paulorobetovlopes@hotmail.com": "provider_suppression",
        "soft@example.com": "soft_bounces",
    }
    first = get(stack, "/suppressions", limit=3).json()
    rest = get(stack, "/suppressions", limit=3, cursor=first["next_cursor"]).json()
    assert rest["next_cursor"] is None
    items = first["items"] + rest["items"]
    assert {s["email"]: s["reason"] for s in items} == expected
    soft_row = next(s for s in items if s["email"] == "soft@example.com")
    assert soft_row["since"] == days[5].replace("Z", "+00:00")

    by_header = http_get(f"{stack.base_url}/suppressions", headers={"Accept": "text/csv"})
    by_param = get(stack, "/suppressions", format="csv")
    for response in (by_header, by_param):
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert {r["email"]: r["reason"] for r in rows} == expected
    complaints = get(stack, "/suppressions", reason="complaint").json()["items"]
    assert [s["email"] for s in complaints] == ["john.doe@some-domain.com"]
