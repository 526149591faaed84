"""Infobip's v4 send side: the request field by field, both error shapes, the logs lookup."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from emailhook.domain.sending.message import OutgoingMessage, Recipient, new_public_id
from emailhook.providers.infobip.send import (
    LOGS_IDS_CHARS,
    CallbackDataTooLongError,
    InfobipSend,
)
from emailhook.providers.sending import HttpAnswer, Outcome, SendConfig

CONFIG = SendConfig(
    "http://ib.test/",
    "k3y",
    delivery_url="https://hooks.example/email/tok",
    tracking_url="https://hooks.example/email/tok",
)
MESSAGE = OutgoingMessage(
    public_id="msg_1",
    from_email="Shop <shop@example.com>",
    to=Recipient("ann@example.com"),
    subject="Hi",
    text="Hello",
    headers={"List-Unsubscribe": "<https://x/u/t>"},
    metadata={"qj_contact_id": 7, "campaign": "c1"},
    track_opens=True,
)


def test_the_request_carries_our_id_callback_data_and_urls() -> None:
    request = InfobipSend().prepare([MESSAGE], CONFIG)
    assert request.method == "POST"
    assert request.url == "http://ib.test/email/4/messages"
    assert request.headers["Authorization"] == "App k3y"
    body = json.loads(request.body)
    [message] = body["messages"]
    assert message["sender"] == "Shop <shop@example.com>"
    assert message["destinations"] == [
        {"to": [{"destination": "ann@example.com", "messageId": "msg_1"}]}
    ]
    assert message["content"] == {
        "subject": "Hi",
        "text": "Hello",
        "headers": json.dumps({"List-Unsubscribe": "<https://x/u/t>"}),
    }
    assert json.loads(message["webhooks"]["callbackData"]) == {
        "qj_contact_id": 7,
        "campaign": "c1",
        "emailhook_id": "msg_1",
    }
    assert message["webhooks"]["delivery"] == {"url": "https://hooks.example/email/tok"}
    assert message["options"] == {"campaignReferenceId": "c1"}
    assert body["options"]["tracking"] == {
        "trackOpens": True,
        "trackingUrl": "https://hooks.example/email/tok",
    }


def test_callback_data_over_4000_characters_is_refused() -> None:
    big = OutgoingMessage(
        "msg_2", "a@example.com", Recipient("b@example.com"), metadata={"x": "y" * 4000}
    )
    with pytest.raises(CallbackDataTooLongError):
        InfobipSend().prepare([big], CONFIG)


def answer(status: int, body: object, **headers: str) -> HttpAnswer:
    return HttpAnswer(
        status,
        {k.lower().replace("_", "-"): v for k, v in headers.items()},
        json.dumps(body).encode(),
    )


def test_a_200_accepts_each_message_by_our_id() -> None:
    body = {
        "bulkId": "b",
        "messages": [
            {
                "messageId": "msg_1",
                "destination": "ann@example.com",
                "status": {"groupName": "PENDING"},
            }
        ],
    }
    [result] = InfobipSend().parse(answer(200, body), [MESSAGE])
    assert (result.outcome, result.provider_message_id) == (Outcome.ACCEPTED, "msg_1")


@pytest.mark.parametrize(
    "body",
    [
        {"errorCode": "E429", "description": "Too many requests sent.", "violations": []},
        {
            "requestError": {
                "serviceException": {"messageId": "TOO_MANY_REQUESTS", "text": "Too many requests"}
            }
        },
    ],
)
def test_429_in_either_shape_is_retried_with_retry_after(body: object) -> None:
    [result] = InfobipSend().parse(answer(429, body, Retry_After="3"), [MESSAGE])
    assert result.outcome is Outcome.RETRY
    assert result.retry_after == 3
    assert "TOO_MANY" in (result.reason or "") or "E429" in (result.reason or "")


def test_5xx_is_unknown_and_4xx_final_with_the_violations() -> None:
    [unknown] = InfobipSend().parse(
        answer(500, {"errorCode": "E500", "description": "x"}), [MESSAGE]
    )
    assert unknown.outcome is Outcome.UNKNOWN
    bad = {
        "errorCode": "E400",
        "description": "Bad",
        "violations": [{"property": "messages[0].sender", "violation": "invalid"}],
    }
    [failed] = InfobipSend().parse(answer(400, bad), [MESSAGE])
    assert failed.outcome is Outcome.FAILED
    assert "messages[0].sender: invalid" in (failed.reason or "")


def test_the_lookup_asks_the_logs_for_our_ids() -> None:
    [request] = InfobipSend().lookup(["msg_1", "msg_2"], CONFIG)
    assert request.url == "http://ib.test/email/4/logs?messageId=msg_1,msg_2&limit=2"
    found = InfobipSend().found(answer(200, {"results": [{"messageId": "msg_1"}]}))
    assert found == {"msg_1": "msg_1"}
    with pytest.raises(ValueError, match="429"):
        InfobipSend().found(answer(429, {"errorCode": "E429"}))


def test_a_full_request_is_looked_up_in_as_many_queries_as_the_logs_limit_needs() -> None:
    ids = [new_public_id() for _ in range(100)]  # one full request of ours
    requests = InfobipSend().lookup(ids, CONFIG)
    asked = [parse_qs(urlsplit(r.url).query)["messageId"][0].split(",") for r in requests]
    assert [i for query in asked for i in query] == ids
    assert all(len(",".join(query)) <= LOGS_IDS_CHARS for query in asked)
    assert len(requests) == 2
