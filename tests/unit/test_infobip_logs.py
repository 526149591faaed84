"""A log item of Infobip's e-mail logs gives the same event as the webhook report it mirrors."""

from __future__ import annotations

import copy
import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from emailhook.domain.events import EmailEvent, EventKind
from emailhook.providers.infobip.logs import LogSkip, as_report, log_event
from emailhook.providers.infobip.parsing import parse_body, report_key

DATA = Path(__file__).resolve().parents[1] / "data"
#: fields a log cannot give (logs carry no callbackData) or that differ by design (raw)
NOT_IN_LOGS = {
    "raw",
    "qj_contact_id",
    "campaign",
    "creditor_id",
    "creditor_name",
    "callback_data",
    "callback_data_raw",
}


def load(folder: str, name: str) -> dict[str, Any]:
    body = orjson.loads((DATA / folder / name).read_bytes())
    assert isinstance(body, dict)
    return body


def v4_item() -> dict[str, Any]:
    item = load("infobip", "SYNTH_email_v4_logs_response.json")["results"][0]
    assert isinstance(item, dict)
    return item


def comparable(event: EmailEvent) -> dict[str, Any]:
    fields = dataclasses.asdict(event)
    return {name: value for name, value in fields.items() if name not in NOT_IN_LOGS}


def webhook_report_of(log: dict[str, Any]) -> dict[str, Any]:
    """The webhook's report of the logged message, written out by hand from the log item."""
    return {
        "bulkId": log["bulkId"],
        "messageId": log["messageId"],
        "to": log["destination"],
        "sentAt": log["sentAt"],
        "doneAt": log["doneAt"],
        "smsCount": log["messageCount"],
        "price": log["price"],
        "status": log["status"],
        "error": log["error"],
        "callbackData": '{"qj_contact_id": 3}',
        "entityId": log["platform"]["entityId"],
        "applicationId": log["platform"]["applicationId"],
        "campaignReferenceId": log["campaignReferenceId"],
    }


def test_a_v4_log_item_gives_the_event_of_its_webhook_report_field_by_field() -> None:
    log = v4_item()
    from_log = log_event(log)
    assert isinstance(from_log, EmailEvent)
    [from_webhook] = parse_body({"results": [webhook_report_of(log)]}).events
    assert comparable(from_log) == comparable(from_webhook)
    # and the fields themselves, so that a parser change cannot make both wrong alike
    assert from_log.event_key == report_key(
        "a28dd97c-1ffb-4fcf-99f1-0b557ed381da",
        "john.smith@company.com",
        "DELIVERED",
        "DELIVERED_TO_HANDSET",
        "2020-02-22T16:42:07.120000+00:00",
        0,
    )
    assert from_log.kind is EventKind.DELIVERY_REPORT
    assert from_log.status == "DELIVERED"
    assert from_log.email == "john.smith@company.com"
    assert from_log.bulk_id == "a28dd97c-2222-4fcf-99f1-0b557ed381da"
    assert from_log.event_at == datetime(2020, 2, 22, 16, 42, 7, 120000, tzinfo=UTC)
    assert from_log.sent_at == datetime(2020, 2, 22, 16, 42, 5, 390000, tzinfo=UTC)
    assert (from_log.status_id, from_log.status_group_id) == (5, 3)
    assert from_log.status_name == "DELIVERED_TO_HANDSET"
    assert from_log.status_description == "Message delivered to handset"
    assert (from_log.error_id, from_log.error_name, from_log.error_permanent) == (
        0,
        "NO_ERROR",
        False,
    )
    assert from_log.error_description == "No Error"
    assert from_log.qj_contact_id is None  # logs carry no callbackData
    assert from_log.raw == log  # the item as pulled, not the re-shaped one


def test_a_v1_log_item_gives_the_event_of_its_webhook_report() -> None:
    log = load("infobip", "email_logs_v1_response__devdocs.json")["results"][0]
    from_log = log_event(log)
    assert isinstance(from_log, EmailEvent)
    report = {k: v for k, v in log.items() if k not in ("from", "text", "channel")}
    [from_webhook] = parse_body({"results": [report]}).events
    assert comparable(from_log) == comparable(from_webhook)
    assert from_log.email == "recipient@infobip.com"


@pytest.mark.parametrize(
    ("name", "index"),
    [
        ("delivered", 0),
        *[("delivered_dict", i) for i in range(5)],
        ("undeliverable", 0),
        ("suppressed_bounce", None),
    ],
)
def test_every_seed_report_read_back_from_a_log_gives_the_same_key(
    name: str, index: int | None
) -> None:
    body = load("seed", f"{name}.json")
    report = body if index is None else body["results"][index]
    [from_webhook] = parse_body(body if index is None else {"results": [report]}).events
    # The log of that message, as GET /email/4/logs writes it
    log = {k: v for k, v in report.items() if k not in ("to", "smsCount", "callbackData")}
    log.pop("browserLink", None)
    log.update(
        destination=report["to"].upper(),  # addresses compare case-insensitively
        messageCount=report["smsCount"],
        sender="envios@negociecomquite.com.br",
        platform={"entityId": None, "applicationId": None},
        text="...",
    )
    log["status"] = {**report["status"], "action": None}
    from_log = log_event(log)
    assert isinstance(from_log, EmailEvent)
    assert comparable(from_log) == comparable(from_webhook)
    assert from_log.event_key == from_webhook.event_key


def test_a_status_group_given_only_by_id_is_read_like_the_webhook() -> None:
    log = v4_item()
    log["status"] = {"groupId": 2, "id": 4, "name": "UNDELIVERABLE_REJECTED_OPERATOR"}
    log["error"] = {"id": 6012, "name": "EC_HARD_BOUNCE", "permanent": True}
    from_log = log_event(log)
    assert isinstance(from_log, EmailEvent)
    assert from_log.status == "UNDELIVERABLE"
    [from_webhook] = parse_body({"results": [webhook_report_of(log)]}).events
    assert from_log.event_key == from_webhook.event_key


@pytest.mark.parametrize("group", ["DELIVERED", "UNDELIVERABLE", "EXPIRED", "REJECTED"])
def test_final_statuses_give_events(group: str) -> None:
    log = v4_item()
    log["status"] = {**log["status"], "groupName": group}
    event = log_event(log)
    assert isinstance(event, EmailEvent)
    assert event.status == group


@pytest.mark.parametrize("group", ["PENDING", "ACCEPTED", "pending"])
def test_statuses_that_are_not_final_are_skipped(group: str) -> None:
    log = v4_item()
    log["status"] = {"groupName": group, "groupId": 1}
    assert log_event(log) == LogSkip(
        f"status {group.upper()} is not final", "a28dd97c-1ffb-4fcf-99f1-0b557ed381da"
    )


def test_an_item_without_messageid_is_skipped_with_a_reason() -> None:
    for missing in (None, "", "  "):
        log = v4_item()
        log["messageId"] = missing
        assert log_event(log) == LogSkip("log item has no messageId")
    log = v4_item()
    del log["messageId"]
    assert log_event(log) == LogSkip("log item has no messageId")


def test_items_without_status_or_not_objects_are_skipped() -> None:
    log = v4_item()
    del log["status"]
    skip = log_event(log)
    assert isinstance(skip, LogSkip)
    assert skip.reason == "status missing is not final"
    assert log_event(["x"]) == LogSkip("log item is a JSON list, not an object")


def test_reshaping_does_not_change_the_pulled_item() -> None:
    log = v4_item()
    before = copy.deepcopy(log)
    report = as_report(log)
    assert log == before
    assert "destination" not in report
    assert "platform" not in report
    assert report["to"] == log["destination"]
    assert report["smsCount"] == 1
    assert report["entityId"] == "promotional-traffic-entity"
