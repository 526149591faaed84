"""Which shape a body is, how many events it carries, and what happens to unreadable items."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from emailhook.domain.events import PlatformEvent, RejectedItem, Shape
from emailhook.providers.infobip.parsing import count_events, detect_shape, parse_body

Seed = Callable[[str], dict[str, Any]]

HIGH_BOUNCE_RATE = {
    "eventId": "d2c6a2a4-6f7e-4b4e-9b0c-3f1f2a7c9e11",
    "eventDetails": {"type": "HIGH_BOUNCE_RATE_WARNING", "bounceRate": 0.12},
    "timestamp": "2024-09-03T15:10:44.395+0000",
}


def report(**fields: Any) -> dict[str, Any]:
    """Return a minimal readable delivery report item, with ``fields`` replaced or added."""
    item: dict[str, Any] = {
        "messageId": "m-1",
        "to": "a@example.com",
        "doneAt": "2024-07-16T17:26:54.966-0300",
        "status": {"groupId": 3, "groupName": "DELIVERED", "name": "DELIVERED_TO_HANDSET"},
    }
    item.update(fields)
    return item


# --- detect_shape and count_events --------------------------------------------------------


def test_results_list_is_a_batch_of_delivery_reports() -> None:
    body = {"results": [report(), report(messageId="m-2")]}
    assert detect_shape(body) is Shape.DELIVERY_REPORTS
    assert count_events(body, Shape.DELIVERY_REPORTS) == 2


def test_empty_batch_is_a_batch_with_no_events() -> None:
    body: dict[str, Any] = {"results": []}
    parsed = parse_body(body)
    assert detect_shape(body) is Shape.DELIVERY_REPORTS
    assert count_events(body, Shape.DELIVERY_REPORTS) == 0
    assert parsed.shape is Shape.DELIVERY_REPORTS
    assert (parsed.events, parsed.rejected, parsed.platform_events) == ([], [], [])


def test_message_id_with_a_status_object_is_a_bare_report() -> None:
    body = report()
    assert detect_shape(body) is Shape.BARE_REPORT
    assert count_events(body, Shape.BARE_REPORT) == 1


def test_notification_type_makes_a_tracking_event() -> None:
    body = {"notificationType": "OPENED", "messageId": "m-1", "recipient": "a@example.com"}
    assert detect_shape(body) is Shape.TRACKING_EVENT
    assert count_events(body, Shape.TRACKING_EVENT) == 1


def test_high_bounce_rate_warning_is_a_platform_event_not_an_email_event() -> None:
    parsed = parse_body(HIGH_BOUNCE_RATE)

    assert detect_shape(HIGH_BOUNCE_RATE) is Shape.PLATFORM_EVENT
    assert count_events(HIGH_BOUNCE_RATE, Shape.PLATFORM_EVENT) == 1
    assert parsed.shape is Shape.PLATFORM_EVENT
    assert parsed.events == []
    assert parsed.rejected == []
    assert parsed.platform_events == [
        PlatformEvent(
            event_key="ev:d2c6a2a4-6f7e-4b4e-9b0c-3f1f2a7c9e11",
            type="HIGH_BOUNCE_RATE_WARNING",
            provider_event_id="d2c6a2a4-6f7e-4b4e-9b0c-3f1f2a7c9e11",
            raw=HIGH_BOUNCE_RATE,
        )
    ]


def test_platform_event_type_is_upper_cased() -> None:
    body = {"eventId": "e-1", "eventDetails": {"type": "high_bounce_rate_blocked"}}
    assert parse_body(body).platform_events[0].type == "HIGH_BOUNCE_RATE_BLOCKED"


def test_platform_event_without_event_id_gets_a_stable_content_key() -> None:
    body = {"eventDetails": {"type": "HIGH_BOUNCE_RATE_WARNING"}, "n": 1}
    first = parse_body(body).platform_events[0]
    again = parse_body(dict(body)).platform_events[0]
    other = parse_body({**body, "n": 2}).platform_events[0]

    assert first.provider_event_id is None
    assert first.event_key.startswith("pe:")
    assert first.event_key == again.event_key
    assert first.event_key != other.event_key


def test_deeply_nested_platform_event_without_event_id_still_gets_a_key() -> None:
    # orjson reads 1023 levels but writes only 254: the content key must not depend on that.
    nested: Any = []
    for _ in range(600):
        nested = [nested]
    body = {"eventDetails": {"type": "HIGH_BOUNCE_RATE_WARNING"}, "nested": nested}
    (event,) = parse_body(body).platform_events
    assert event.event_key.startswith("pe:")
    assert event.event_key == parse_body(body).platform_events[0].event_key


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="empty object"),
        pytest.param({"hello": "world"}, id="unrelated object"),
        pytest.param({"results": "not a list"}, id="results not a list"),
        pytest.param({"results": {"0": {}}}, id="results an object"),
        pytest.param({"messageId": "m-1"}, id="messageId without status"),
        pytest.param({"messageId": "m-1", "status": "DELIVERED"}, id="status not an object"),
        pytest.param({"eventDetails": {"kind": "X"}}, id="eventDetails without type"),
        pytest.param({"eventDetails": {"type": 7}}, id="eventDetails type not a string"),
        pytest.param({"eventDetails": "HIGH_BOUNCE_RATE_WARNING"}, id="eventDetails a string"),
    ],
)
def test_object_of_no_known_shape_is_unknown_with_no_events(body: dict[str, Any]) -> None:
    parsed = parse_body(body)
    assert detect_shape(body) is Shape.UNKNOWN
    assert count_events(body, Shape.UNKNOWN) == 0
    assert parsed.shape is Shape.UNKNOWN
    assert (parsed.events, parsed.platform_events, parsed.rejected) == ([], [], [])


def test_batch_shape_wins_over_fields_of_other_shapes() -> None:
    body = {"results": [report()], "notificationType": "OPENED", "messageId": "x", "status": {}}
    assert detect_shape(body) is Shape.DELIVERY_REPORTS


# --- unreadable items ---------------------------------------------------------------------


def test_unreadable_items_of_a_batch_are_rejected_and_the_others_parsed() -> None:
    body = {
        "results": [
            report(messageId="m-1"),
            "not an object",
            report(messageId="m-3"),
            {"status": {"groupId": 3}, "doneAt": "2024-07-16T17:26:54.966-0300"},
            report(messageId="m-5"),
            None,
        ]
    }
    parsed = parse_body(body)

    assert [event.message_id for event in parsed.events] == ["m-1", "m-3", "m-5"]
    assert parsed.rejected == [
        RejectedItem(1, "report is a JSON str, not an object"),
        RejectedItem(3, "report has neither messageId nor to"),
        RejectedItem(5, "report is a JSON NoneType, not an object"),
    ]
    assert len(parsed.events) + len(parsed.rejected) == count_events(body, parsed.shape)


@pytest.mark.parametrize("blank", [None, "", "   ", [], {}])
def test_report_with_blank_message_id_and_to_is_rejected(blank: object) -> None:
    parsed = parse_body({"results": [report(messageId=blank, to=blank)]})
    assert parsed.events == []
    assert parsed.rejected == [RejectedItem(0, "report has neither messageId nor to")]


def test_report_with_only_a_recipient_is_kept() -> None:
    item = report()
    del item["messageId"]
    (event,) = parse_body({"results": [item]}).events
    assert event.message_id is None
    assert event.email == "a@example.com"


def test_report_with_only_a_message_id_is_kept() -> None:
    item = report()
    del item["to"]
    (event,) = parse_body({"results": [item]}).events
    assert event.message_id == "m-1"
    assert event.email is None


def test_unreadable_bare_report_is_rejected_at_index_zero() -> None:
    parsed = parse_body({"messageId": "  ", "status": {"groupId": 3}})
    assert parsed.shape is Shape.BARE_REPORT
    assert parsed.events == []
    assert parsed.rejected == [RejectedItem(0, "report has neither messageId nor to")]


# --- tolerant reading of the fields -------------------------------------------------------


@pytest.mark.parametrize(
    ("group_id", "status"),
    [
        (1, "PENDING"),
        (2, "UNDELIVERABLE"),
        (3, "DELIVERED"),
        ("3", "DELIVERED"),
        (4, "EXPIRED"),
        (5, "REJECTED"),
        (9, None),
        (None, None),
    ],
)
def test_missing_group_name_falls_back_to_the_group_id(group_id: object, status: str) -> None:
    (event,) = parse_body({"results": [report(status={"groupId": group_id})]}).events
    assert event.status == status


def test_group_name_is_upper_cased_and_wins_over_the_group_id() -> None:
    (event,) = parse_body(report(status={"groupId": 1, "groupName": " delivered "})).events
    assert event.status == "DELIVERED"


def test_lowercase_notification_type_is_upper_cased() -> None:
    (event,) = parse_body({"notificationType": "clicked", "recipient": "a@example.com"}).events
    assert event.status == "CLICKED"


def test_numeric_message_id_is_read_as_text() -> None:
    # The OpenAPI spec declares messageId a number; the payloads send a string.
    (event,) = parse_body(report(messageId=123456789)).events
    assert event.message_id == "123456789"


def test_report_fields_of_the_wrong_type_are_read_as_absent() -> None:
    item = report(
        status=["DELIVERED"],
        error="EC_SUPPRESSED_BOUNCE",
        doneAt=1721161640510,
        sentAt={"at": "now"},
        bulkId={"id": 1},
        callbackData=["qj_contact_id", 3],
    )
    (event,) = parse_body({"results": [item]}).events

    assert event.status is None
    assert (event.status_id, event.status_group_id, event.status_name) == (None, None, None)
    assert (event.error_id, event.error_name, event.error_permanent) == (None, None, None)
    assert (event.event_at, event.sent_at) == (None, None)
    assert event.bulk_id is None
    assert (event.callback_data, event.callback_data_raw, event.qj_contact_id) == (None, None, None)


def test_error_permanent_that_is_not_a_boolean_is_unknown() -> None:
    (event,) = parse_body(report(error={"id": 6012, "permanent": "true"})).events
    assert event.error_id == 6012
    assert event.error_permanent is None


def test_unknown_fields_are_ignored_but_kept_in_raw() -> None:
    item = report(smtp={"response": "250 OK"}, attemptCount=2, brandNewField=[1, 2])
    (event,) = parse_body({"results": [item]}).events
    assert event.status == "DELIVERED"
    assert event.raw == item


def test_tracking_event_raw_keeps_both_geo_location_spellings(seed: Seed) -> None:
    (old,) = parse_body(seed("opened")).events
    (new,) = parse_body(seed("unsubscribed")).events
    assert old.raw["geoLocationInfo"] == {"countryName": "United States", "city": "Mountain View"}
    assert new.raw["geoLocation"] == {"city": "Los Angeles", "countryName": "United States"}


def test_report_with_a_done_at_outside_the_datetime_range_is_kept_without_time() -> None:
    # 0001-01-01T00:00+0100 is a valid ISO string whose UTC instant lies before datetime.min.
    (event,) = parse_body({"results": [report(doneAt="0001-01-01T00:00:00+0100")]}).events
    assert event.event_at is None
    assert event.status == "DELIVERED"


@pytest.mark.parametrize("contact_id", ["--5", "+-5", "\u00b2"])
def test_contact_id_that_only_looks_numeric_is_no_contact_id(contact_id: str) -> None:
    body = {"notificationType": "OPENED", "callbackData": {"qj_contact_id": contact_id}}
    (event,) = parse_body(body).events
    assert event.qj_contact_id is None
    assert event.callback_data == {"qj_contact_id": contact_id}
