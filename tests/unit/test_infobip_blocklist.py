"""Infobip's blocklist webhook: e-mail BLOCK/UNBLOCK items become events, others are named."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from emailhook.domain.events import EventKind, RejectedItem
from emailhook.domain.vocabulary import EventType
from emailhook.providers.infobip.blocklist import (
    OtherChannelItem,
    is_blocklist_body,
    parse_blocklist,
)
from emailhook.providers.infobip.parsing import parse_body

DATA = Path(__file__).resolve().parents[1] / "data"
SAMPLE = "blocklist_event_webhook__block_event_request_source_type_url_optout.json"


@pytest.fixture
def body() -> dict[str, Any]:
    loaded = orjson.loads((DATA / "infobip" / SAMPLE).read_bytes())
    assert isinstance(loaded, dict)
    return loaded


def test_the_sample_block_becomes_an_unsubscribe_with_every_field(body: dict[str, Any]) -> None:
    batch = parse_blocklist(body)
    assert (batch.other_channels, batch.rejected) == ([], [])
    [event] = batch.events
    assert event.status == "BLOCK"
    assert event.event_type is EventType.UNSUBSCRIBED
    assert event.kind is EventKind.TRACKING
    assert event.provider == "infobip"
    assert event.email == "recipient@example.com"
    assert event.message_id == "1695640910883409241"
    assert event.bulk_id == "2034072219640523072"
    assert event.event_at == datetime(2023, 6, 6, 14, 18, 29, 797000, tzinfo=UTC)
    assert event.sent_at == datetime(2023, 6, 6, 13, 18, 29, 797000, tzinfo=UTC)
    assert event.provider_event_id is None
    assert (event.qj_contact_id, event.callback_data, event.callback_data_raw) == (None,) * 3
    assert event.raw == body["results"][0]
    assert event.event_key.startswith("bl:")
    assert len(event.event_key) == 43


def test_an_unblock_is_a_subscribe(body: dict[str, Any]) -> None:
    body["results"][0]["event"] = "UNBLOCK"
    [event] = parse_blocklist(body).events
    assert (event.status, event.event_type) == ("UNBLOCK", EventType.SUBSCRIBED)


def test_the_key_is_stable_and_depends_on_event_message_address_and_time(
    body: dict[str, Any],
) -> None:
    item = body["results"][0]
    key = parse_blocklist(body).events[0].event_key
    assert parse_blocklist(copy.deepcopy(body)).events[0].event_key == key
    # The same instant written with another offset, and the address in another case: same key
    variant = copy.deepcopy(item)
    variant["receivedAt"] = "2023-06-06T11:18:29.797-0300"
    variant["content"]["destination"] = "Recipient@Example.com"
    variant["content"]["sourceType"] = "CUSTOM"
    assert parse_blocklist({"results": [variant]}).events[0].event_key == key
    for change in (
        {"event": "UNBLOCK"},
        {"messageId": "other"},
        {"receivedAt": "2023-06-06T14:18:30.797+0000"},
    ):
        changed = {**copy.deepcopy(item), **change}
        assert parse_blocklist({"results": [changed]}).events[0].event_key != key
    moved = copy.deepcopy(item)
    moved["content"]["destination"] = "someone@example.com"
    assert parse_blocklist({"results": [moved]}).events[0].event_key != key


def test_items_of_other_channels_are_named_not_stored(body: dict[str, Any]) -> None:
    email = body["results"][0]
    sms = copy.deepcopy(email)
    sms["content"].update(channel="SMS", destination="41793026727")
    batch = parse_blocklist({"results": [sms, email]})
    assert batch.other_channels == [OtherChannelItem(0, "BLOCKLIST_SMS")]
    assert [e.email for e in batch.events] == ["recipient@example.com"]


def test_bad_items_are_rejected_and_the_rest_kept(body: dict[str, Any]) -> None:
    email = body["results"][0]
    no_destination = copy.deepcopy(email)
    del no_destination["content"]["destination"]
    batch = parse_blocklist({"results": [{"event": "BLOCK"}, email, no_destination, 3]})
    assert batch.rejected == [
        RejectedItem(0, "not a blocklist event"),
        RejectedItem(2, "blocklist event has no destination"),
        RejectedItem(3, "not a blocklist event"),
    ]
    assert len(batch.events) == 1


def test_a_blocklist_body_is_told_from_delivery_reports(
    body: dict[str, Any], load_seed: Any
) -> None:
    assert is_blocklist_body(body)
    for name in ("delivered", "delivered_dict", "undeliverable"):
        assert not is_blocklist_body(load_seed(name))
    assert not is_blocklist_body({"results": []})
    assert not is_blocklist_body({"results": "BLOCK"})
    assert not is_blocklist_body({"event": "BLOCK", "content": {}})


def test_parse_body_reads_a_blocklist_body_as_blocklist_events(body: dict[str, Any]) -> None:
    # The blocklist check comes first: read as a "delivery report" it had no address or status.
    [event] = parse_body(body).events
    assert (event.email, event.status) == ("recipient@example.com", "BLOCK")
