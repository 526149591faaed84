"""Which Infobip channel an item comes from: every sample body, built ones, and mixed batches."""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from emailhook.providers.infobip.channels import (
    EMAIL,
    EMAIL_PLATFORM,
    MESSAGES_API,
    PHONE,
    SMS,
    SMS_CLICK,
    SMS_OR_VIBER,
    UNKNOWN,
    WHATSAPP,
    WHATSAPP_SEEN,
    channel_of,
    is_email_item,
    looks_like_address,
    looks_like_phone,
)
from emailhook.providers.infobip.parsing import parse_body

DATA = Path(__file__).resolve().parents[1] / "data"


def load(folder: str, name: str) -> dict[str, Any]:
    body = orjson.loads((DATA / folder / name).read_bytes())
    assert isinstance(body, dict)
    return body


def items(body: dict[str, Any]) -> list[Any]:
    results = body.get("results")
    return results if isinstance(results, list) else [body]


@pytest.mark.parametrize(
    "name",
    [
        "clicked",
        "complained",
        "delivered",
        "delivered_dict",
        "opened",
        "suppressed_bounce",
        "undeliverable",
        "unsubscribed",
    ],
)
def test_every_seed_item_is_email(name: str) -> None:
    for item in items(load("seed", f"{name}.json")):
        assert channel_of(item) == EMAIL
        assert is_email_item(item)


@pytest.mark.parametrize(
    ("name", "channel"),
    [
        ("sms_dlr_v2_webhook.json", SMS),
        ("whatsapp_dlr_webhook.json", WHATSAPP),
        ("whatsapp_seen_report_webhook.json", WHATSAPP_SEEN),
        ("sms_click_tracking_webhook.json", SMS_CLICK),
        (
            "blocklist_event_webhook__block_event_request_source_type_url_optout.json",
            "BLOCKLIST_EMAIL",
        ),
        ("email_platform_event_webhook__high_bounce_rate_warning.json", EMAIL_PLATFORM),
        # the v1 pull APIs name the channel and use ``to``: e-mail, like a webhook report
        ("email_logs_v1_response__devdocs.json", EMAIL),
        ("email_reports_v1_response__devdocs.json", EMAIL),
    ],
)
def test_each_sample_body_is_named_for_its_channel(name: str, channel: str) -> None:
    for item in items(load("infobip", name)):
        assert channel_of(item) == channel
        assert is_email_item(item) is (channel == EMAIL)


def test_a_blocklist_event_of_another_channel_names_that_channel() -> None:
    body = load(
        "infobip", "blocklist_event_webhook__block_event_request_source_type_url_optout.json"
    )
    item = body["results"][0]
    item["content"].update(channel="sms", destination="41793026727")
    assert channel_of(item) == "BLOCKLIST_SMS"
    del item["content"]["channel"]
    assert channel_of(item) == "BLOCKLIST_UNKNOWN"


# Built from the field lists of infobip-pull-and-channels.md: the spec gives no webhook example.
SMS_V3_REPORT = {
    "bulkId": "b-1",
    "messageId": "m-1",
    "to": "+41793026727",
    "sender": "InfoSMS",
    "sentAt": "2019-11-09T16:00:00.000+0000",
    "doneAt": "2019-11-09T16:00:00.000+0000",
    "messageCount": 1,
    "mccMnc": "22801",
    "platform": {"entityId": "e", "applicationId": "a"},
    "status": {"groupId": 3, "groupName": "DELIVERED", "id": 5, "action": "none"},
}
RCS_REPORT = {
    "messageId": "m-2",
    "to": "41793026727",
    "channel": "RCS",
    "price": {"pricePerMessage": 0.01, "currency": "EUR", "trafficType": "BASIC"},
    "conversation": {"id": "c"},
    "status": {"groupId": 3, "groupName": "DELIVERED"},
}
MESSAGES_API_REPORT = {
    "event": "DELIVERY",
    "channel": "WHATSAPP",
    "sender": "447860099299",
    "destination": "385977666618",
    "messageId": "m-3",
    "mccMnc": 21901,
    "status": {"groupId": 3, "groupName": "DELIVERED"},
}


def test_channels_without_a_sample_file_are_told_apart() -> None:
    assert channel_of(SMS_V3_REPORT) == SMS_OR_VIBER
    assert channel_of(RCS_REPORT) == "RCS"
    assert channel_of({**RCS_REPORT, "channel": "SMS"}) == SMS  # an RCS failover to SMS
    assert channel_of(MESSAGES_API_REPORT) == MESSAGES_API
    assert channel_of({"messageId": "m", "to": "41793026727", "status": {}}) == PHONE


def test_an_email_report_that_names_another_channel_is_not_email() -> None:
    report = copy.deepcopy(load("seed", "delivered.json")["results"][0])
    assert is_email_item({**report, "channel": "EMAIL"})
    assert is_email_item({**report, "channel": "email"})
    assert channel_of({**report, "channel": "VIBER"}) == "VIBER"


def test_a_report_without_an_address_or_phone_is_unknown() -> None:
    report = copy.deepcopy(load("seed", "delivered.json")["results"][0])
    for to in (None, "", "joao.madero", "joao@localhost", 42.5, ["a@b.com"], {"x": 1}):
        report["to"] = to
        assert channel_of(report) == UNKNOWN, to
    del report["to"]
    assert channel_of(report) == UNKNOWN


def test_a_tracking_event_is_email_only_with_an_address_for_recipient() -> None:
    event = load("seed", "opened.json")
    assert is_email_item(event)
    assert channel_of({**event, "recipient": "5511999998888"}) == SMS_CLICK
    assert channel_of({**event, "recipient": None}) == UNKNOWN


def test_values_that_are_not_objects_are_unknown() -> None:
    for value in (None, 1, "a@b.com", [], ["x"], True):
        assert channel_of(value) == UNKNOWN
        assert not is_email_item(value)


def test_a_mixed_batch_keeps_only_its_email_items() -> None:
    email = load("seed", "delivered_dict.json")["results"]
    others = [
        *load("infobip", "sms_dlr_v2_webhook.json")["results"],
        *load("infobip", "whatsapp_dlr_webhook.json")["results"],
        *load("infobip", "whatsapp_seen_report_webhook.json")["results"],
        SMS_V3_REPORT,
        MESSAGES_API_REPORT,
    ]
    batch = [*others[:2], *email[:3], *others[2:], *email[3:]]
    kept = [item for item in batch if is_email_item(item)]
    assert kept == email
    assert [channel_of(item) for item in others] == [
        SMS,
        SMS,
        WHATSAPP,
        WHATSAPP_SEEN,
        SMS_OR_VIBER,
        MESSAGES_API,
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a@b.co", True),
        ("  Joao.Madero@Quite.com.br ", True),
        ("x@sub.domain.example", True),
        ("a@b", False),
        ("a@.com", False),
        ("a@b.", False),
        ("@b.com", False),
        ("a b@c.com", False),
        ("a@b.c" + "o" * 300, False),
        ("41793026727", False),
        (None, False),
        (3, False),
    ],
)
def test_address_test(value: object, expected: bool) -> None:
    assert looks_like_address(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("41793026727", True),
        ("+5511999998888", True),
        ("10950", True),
        (41793026727, True),
        ("4179302672799999", False),
        ("12", False),
        ("+41 79 302", False),
        ("٤١٧٩٣٠٢٦٧٢٧", False),  # Arabic-Indic digits: isdigit() but not a number we send to
        (True, False),
        (None, False),
    ],
)
def test_phone_test(value: object, expected: bool) -> None:
    assert looks_like_phone(value) is expected


def test_the_address_test_takes_linear_time_on_hostile_input() -> None:
    # The shape that made the project's old regex quadratic: many '@' and dots, no end.
    hostile = ("a@" * 50_000) + ("." * 50_000)
    start = time.perf_counter()
    for _ in range(100):
        looks_like_address(hostile)
        channel_of({"to": hostile, "status": {}})
    assert time.perf_counter() - start < 0.5


def test_parse_body_stores_no_phone_number_as_an_address() -> None:
    # The channel check runs before the report reader: an SMS batch used to parse "fine".
    body = load("infobip", "sms_dlr_v2_webhook.json")
    parsed = parse_body(body)
    assert parsed.events == []
    assert [(o.index, o.channel) for o in parsed.other_channels] == [(0, SMS), (1, SMS)]
    assert not any(is_email_item(item) for item in body["results"])


@pytest.mark.parametrize(
    ("name", "channel"),
    [
        ("whatsapp_dlr_webhook.json", WHATSAPP),
        ("whatsapp_seen_report_webhook.json", WHATSAPP_SEEN),
        ("sms_click_tracking_webhook.json", SMS_CLICK),
    ],
)
def test_parse_body_counts_other_channels_bodies_and_stores_nothing(
    name: str, channel: str
) -> None:
    parsed = parse_body(load("infobip", name))
    assert (parsed.events, parsed.rejected) == ([], [])
    assert {o.channel for o in parsed.other_channels} == {channel}


def test_parse_body_of_a_mixed_batch_stores_its_email_items_only() -> None:
    email = load("seed", "delivered_dict.json")["results"]
    sms = load("infobip", "sms_dlr_v2_webhook.json")["results"]
    batch = {"results": [sms[0], *email[:2], SMS_V3_REPORT, *email[2:], MESSAGES_API_REPORT]}
    parsed = parse_body(batch)
    assert [e.email for e in parsed.events] == [str(i["to"]).lower() for i in email]
    assert [(o.index, o.channel) for o in parsed.other_channels] == [
        (0, SMS),
        (3, SMS_OR_VIBER),
        (len(email) + 2, MESSAGES_API),
    ]
