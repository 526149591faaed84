"""Dedupe keys: a redelivery gets the key it had, a different event gets another one."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from emailhook.providers.infobip.parsing import parse_body

Seed = Callable[[str], dict[str, Any]]


def key_of(body: dict[str, Any]) -> str:
    (event,) = parse_body(body).events
    return event.event_key


def test_redelivered_report_gets_the_same_key(seed: Seed) -> None:
    assert key_of(seed("delivered")) == key_of(seed("delivered"))


def test_report_gets_the_same_key_in_a_batch_and_bare(seed: Seed) -> None:
    item = seed("delivered")["results"][0]
    assert key_of({"results": [item]}) == key_of(copy.deepcopy(item))


def test_report_keeps_its_key_whatever_its_position_in_the_batch(seed: Seed) -> None:
    body = seed("delivered_dict")
    keys = [event.event_key for event in parse_body(body).events]
    body["results"].reverse()
    reversed_keys = [event.event_key for event in parse_body(body).events]
    assert reversed_keys == keys[::-1]


def test_redelivery_with_done_at_in_an_equal_offset_gets_the_same_key(seed: Seed) -> None:
    original = seed("delivered")["results"][0]  # doneAt 2024-07-16T17:26:54.966-0300
    for same_instant in (
        "2024-07-16T17:26:54.966-03:00",
        "2024-07-16T20:26:54.966+0000",
        "2024-07-16T20:26:54.966+00:00",
        "2024-07-16T20:26:54.966Z",
    ):
        redelivered = {**original, "doneAt": same_instant}
        assert key_of(redelivered) == key_of(original), same_instant


def test_redelivery_with_other_unused_fields_changed_gets_the_same_key(seed: Seed) -> None:
    # Fields that do not identify the event (price, smsCount, new fields) do not change its key.
    original = seed("delivered")["results"][0]
    redelivered = {**original, "price": {"pricePerMessage": 0.002}, "attemptCount": 2}
    assert key_of(redelivered) == key_of(original)


def test_address_case_does_not_change_the_key(seed: Seed) -> None:
    original = seed("delivered")["results"][0]
    assert key_of({**original, "to": "Joao.Madero@Quite.com.br"}) == key_of(original)


def test_pending_then_delivered_reports_of_one_message_get_different_keys(seed: Seed) -> None:
    delivered = seed("delivered")["results"][0]
    pending = {
        **delivered,
        "status": {
            "id": 26,
            "groupId": 1,
            "groupName": "PENDING",
            "name": "PENDING_ACCEPTED",
            "description": "Message sent to next instance",
        },
        "doneAt": "2024-07-16T17:26:53.100-0300",
    }
    assert key_of(pending) != key_of(delivered)


def test_same_status_group_with_another_status_name_gets_another_key(seed: Seed) -> None:
    delivered = seed("delivered")["results"][0]
    other = {**delivered, "status": {**delivered["status"], "name": "DELIVERED_TO_OPERATOR"}}
    assert key_of(other) != key_of(delivered)


def test_report_with_another_done_at_gets_another_key(seed: Seed) -> None:
    delivered = seed("delivered")["results"][0]
    later = {**delivered, "doneAt": "2024-07-16T17:26:54.967-0300"}
    assert key_of(later) != key_of(delivered)


def test_report_with_another_error_gets_another_key(seed: Seed) -> None:
    report = seed("suppressed_bounce")
    other = {**report, "error": {**report["error"], "id": 6012}}
    assert key_of(other) != key_of(report)


def test_unreadable_done_at_still_gives_a_stable_key(seed: Seed) -> None:
    report = {**seed("suppressed_bounce"), "doneAt": "yesterday"}
    assert key_of(report) == key_of(copy.deepcopy(report))
    assert key_of(report) != key_of({**report, "doneAt": "today"})


def test_tracking_event_with_an_event_id_is_keyed_by_it(seed: Seed) -> None:
    body = {**seed("opened"), "eventId": "6f1c1d1e-4a8b-4e5f-9a3b-1c2d3e4f5a6b"}
    (event,) = parse_body(body).events
    assert event.event_key == "ev:6f1c1d1e-4a8b-4e5f-9a3b-1c2d3e4f5a6b"
    assert event.provider_event_id == "6f1c1d1e-4a8b-4e5f-9a3b-1c2d3e4f5a6b"


def test_tracking_events_with_one_event_id_share_a_key_whatever_else_differs(seed: Seed) -> None:
    opened = {**seed("opened"), "eventId": "e-1"}
    assert key_of(opened) == key_of({**opened, "recipientInfo": {}, "sendDateTime": 1})


def test_numeric_event_id_is_keyed_as_text(seed: Seed) -> None:
    assert key_of({**seed("opened"), "eventId": 1234}) == "ev:1234"


def test_very_long_event_id_is_digested_into_a_bounded_key(seed: Seed) -> None:
    long_id = "x" * 5000
    key = key_of({**seed("opened"), "eventId": long_id})
    assert key.startswith("ev#")
    assert len(key) == 3 + 40
    assert key == key_of({**seed("clicked"), "eventId": long_id})
    assert key != key_of({**seed("opened"), "eventId": long_id + "y"})


def test_event_id_of_100_characters_is_kept_as_is(seed: Seed) -> None:
    assert key_of({**seed("opened"), "eventId": "a" * 100}) == "ev:" + "a" * 100
    assert key_of({**seed("opened"), "eventId": "a" * 101}).startswith("ev#")


def test_tracking_event_without_event_id_gets_a_stable_derived_key(seed: Seed) -> None:
    first = key_of(seed("clicked"))
    assert first.startswith("tr:")
    assert first == key_of(seed("clicked"))
    # Device and location do not identify the event: a redelivery may differ there.
    assert first == key_of({**seed("clicked"), "recipientInfo": {"deviceType": "Phone"}})


def test_tracking_events_without_event_id_differ_by_type_url_and_send_time(seed: Seed) -> None:
    clicked = seed("clicked")
    variants = [
        {**clicked, "notificationType": "OPENED"},
        {**clicked, "url": "www.google.com?utm_medium=sms"},
        {**clicked, "sendDateTime": clicked["sendDateTime"] + 1},
        {**clicked, "messageId": "another"},
        {**clicked, "recipient": "someone.else@quite.com.br"},
    ]
    keys = {key_of(clicked), *(key_of(variant) for variant in variants)}
    assert len(keys) == 1 + len(variants)


def test_tracking_event_with_a_blank_event_id_falls_back_to_the_derived_key(seed: Seed) -> None:
    assert key_of({**seed("opened"), "eventId": "  "}) == key_of(seed("opened"))


def test_delivery_report_and_tracking_keys_cannot_collide(seed: Seed) -> None:
    assert key_of(seed("delivered")).startswith("dr:")
    assert key_of(seed("opened")).startswith("tr:")
    assert key_of({**seed("opened"), "eventId": "dr:x"}) == "ev:dr:x"
