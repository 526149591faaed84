"""End to end: Infobip's bodies of other channels through the running web process and worker."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.stack import Stack, wait_until

pytestmark = pytest.mark.e2e

INFOBIP = Path(__file__).resolve().parents[1] / "data" / "infobip"
OTHER = (
    "sms_dlr_v2_webhook.json",
    "whatsapp_dlr_webhook.json",
    "whatsapp_seen_report_webhook.json",
    "sms_click_tracking_webhook.json",
)


def test_other_channels_bodies_get_200_are_kept_apart_and_store_no_event(stack: Stack) -> None:
    for name in OTHER:
        response = stack.post((INFOBIP / name).read_bytes())
        assert response.status_code == 200, (name, response.text)
    blocklist = "blocklist_event_webhook__block_event_request_source_type_url_optout.json"
    assert stack.post((INFOBIP / blocklist).read_bytes()).status_code == 200
    stack.wait_for_events(1)  # the e-mail BLOCK
    stack.wait_until_drained()
    wait_until(
        lambda: (
            stack.scalar("SELECT count(*) FROM inbox_body WHERE state = 'other_channel'")
            == len(OTHER)
        ),
        10,
        "the other channels' bodies kept apart",
    )
    assert stack.rows("SELECT email, status FROM email_callback") == [
        {"email": "recipient@example.com", "status": "BLOCK"}
    ]
    assert stack.scalar("SELECT count(*) FROM contact_email_state") == 0
    assert stack.rows("SELECT email, reason FROM suppression") == [
        {"email": "recipient@example.com", "reason": "unsubscribe"}
    ]
    assert stack.scalar("SELECT sum(other_items) FROM inbox_body") == 5
