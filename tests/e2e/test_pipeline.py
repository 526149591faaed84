"""End to end: real HTTP requests, a real Celery worker on the real queue, a real database."""

from __future__ import annotations

import json

import pytest

from conftest import SEED_EVENTS
from emailhook.adapters.db import body_encoding
from support.stack import Stack

pytestmark = pytest.mark.e2e


def test_seed_bodies_store_twelve_rows_and_a_redelivery_stores_none(
    stack: Stack, seed_bodies: dict[str, bytes]
) -> None:
    for name, body in seed_bodies.items():
        response = stack.post(body)
        assert response.status_code == 200, (name, response.text)
        assert response.json()["accepted"] is True
    stack.wait_for_events(SEED_EVENTS)
    stack.wait_until_drained()

    for body in seed_bodies.values():
        assert stack.post(body).status_code == 200
    stack.wait_until_drained()

    assert stack.count_events() == SEED_EVENTS
    assert stack.count_distinct_keys() == SEED_EVENTS
    assert stack.scalar("SELECT count(*) FROM inbox_body WHERE state = 'done'") == 16


def test_stored_row_carries_the_brief_columns(stack: Stack, seed_bodies: dict[str, bytes]) -> None:
    response = stack.post(seed_bodies["suppressed_bounce"], headers={"X-Request-Id": "brief-1"})
    assert response.json() == {
        "accepted": True,
        "request_id": "brief-1",
        "shape": "bare_report",
        "events": 1,
    }
    stack.wait_for_events(1)
    (row,) = stack.rows(
        "SELECT status, email, data_recebimento, id_externo, qj_contact_id, error_id,"
        " error_permanent, campaign, creditor_name FROM email_callback"
    )
    assert row["status"] == "UNDELIVERABLE"
    assert row["email"] == "paulorobetovlopes@hotmail.com"
    assert row["data_recebimento"] is not None
    assert row["id_externo"] == "1955tld5lqf3mn9ou3tz"
    assert row["qj_contact_id"] == 310372388
    assert row["error_id"] == 6034
    assert bool(row["error_permanent"]) is True
    assert row["campaign"] == "Setembro/2024_sem_interações"
    assert row["creditor_name"] == "Quite"


def test_bad_input_gets_a_clear_4xx_and_is_not_kept(stack: Stack) -> None:
    not_json = stack.post(b"status=DELIVERED")
    assert not_json.status_code == 400
    assert "not valid JSON" in not_json.json()["message"]

    array = stack.post(b'[{"messageId": "x"}]')
    assert array.status_code == 400
    assert "array" in array.json()["message"]

    stack.wait_until_drained()  # the spool is moved: a refused body would be in the inbox now
    assert stack.scalar("SELECT count(*) FROM inbox_body") == 0


def test_unknown_shape_is_accepted_and_kept_for_an_operator(stack: Stack) -> None:
    response = stack.post({"hello": "world"})
    assert response.status_code == 200
    assert response.json()["events"] == 0
    stack.wait_until_drained()
    (row,) = stack.rows("SELECT state, shape, body, body_encoding FROM inbox_body")
    assert row["state"] == "unrecognized"
    assert json.loads(body_encoding.decode(row["body"], row["body_encoding"])) == {"hello": "world"}


def test_platform_event_is_kept_but_is_not_an_email_callback(stack: Stack) -> None:
    body = {"eventId": "pe-1", "eventDetails": {"type": "HIGH_BOUNCE_RATE_WARNING"}}
    assert stack.post(body).status_code == 200
    stack.wait_until_drained()
    assert stack.scalar("SELECT type FROM platform_event") == "HIGH_BOUNCE_RATE_WARNING"
    assert stack.count_events() == 0


def test_batch_with_a_bad_item_stores_the_good_ones(stack: Stack) -> None:
    good = {"messageId": "m-1", "to": "a@example.com", "status": {"groupName": "DELIVERED"}}
    body = {"results": [good, "not a report", {"price": {}}]}
    assert stack.post(body).json()["events"] == 3
    stack.wait_until_drained()
    assert stack.count_events() == 1
    assert stack.scalar("SELECT rejected_items FROM inbox_body") == 2
