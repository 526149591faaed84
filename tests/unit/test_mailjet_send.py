"""Mailjet's send side, field by field: the v3.1 request and each message's result."""

from __future__ import annotations

import base64
import json
from dataclasses import replace

from emailhook.domain.sending.message import Attachment, OutgoingMessage, Recipient
from emailhook.providers.mailjet.send import MailjetSend
from emailhook.providers.sending import HttpAnswer, Outcome, SendConfig

CONFIG = SendConfig("http://mj.test/", "pub", extra={"secret_key": "sec"})
MESSAGE = OutgoingMessage(
    public_id="msg_1",
    from_email="Shop <shop@example.com>",
    to=Recipient("ann@example.com", "Ann"),
    subject="Hi",
    text="Hello",
    html="<p>Hello</p>",
    reply_to=("Help <help@example.com>",),
    headers={"X-Campaign": "june"},
    attachments=(Attachment("a.txt", "aGk=", "text/plain"),),
    tags=("dunning",),
    metadata={"qj_contact_id": 7, "campaign": "c1"},
    track_opens=True,
    track_clicks=False,
)
SECOND = OutgoingMessage("msg_2", "shop@example.com", Recipient("bob@example.com"), text="x")
#: beyond 2**53, as Mailjet's MessageIDs are (anymail's tests)
BIG = 2**53 + 12345


def _success(message_id: int, email: str) -> dict[str, object]:
    return {
        "Status": "success",
        "CustomID": "",
        "To": [
            {
                "Email": email,
                "MessageUUID": "uuid",
                "MessageID": message_id,
                "MessageHref": f"https://api.mailjet.com/v3/REST/message/{message_id}",
            }
        ],
        "Cc": [],
        "Bcc": [],
    }


def test_each_message_carries_our_id_in_event_payload_and_custom_id() -> None:
    request = MailjetSend().prepare([MESSAGE, SECOND], CONFIG)
    assert (request.method, request.url) == ("POST", "http://mj.test/v3.1/send")
    token = base64.b64encode(b"pub:sec").decode()
    assert request.headers["Authorization"] == f"Basic {token}"
    assert request.headers["Content-Type"] == "application/json"
    first, second = json.loads(request.body)["Messages"]
    assert first == {
        "From": {"Email": "shop@example.com", "Name": "Shop"},
        "To": [{"Email": "ann@example.com", "Name": "Ann"}],
        "CustomID": "msg_1",
        "EventPayload": '{"qj_contact_id":7,"campaign":"c1","emailhook_id":"msg_1"}',
        "Subject": "Hi",
        "TextPart": "Hello",
        "HTMLPart": "<p>Hello</p>",
        "ReplyTo": {"Email": "help@example.com", "Name": "Help"},
        "Headers": {"X-Campaign": "june"},
        "CustomCampaign": "dunning",
        "TrackOpens": "enabled",
        "TrackClicks": "disabled",
        "Attachments": [
            {"ContentType": "text/plain", "Filename": "a.txt", "Base64Content": "aGk="}
        ],
    }
    assert second == {
        "From": {"Email": "shop@example.com"},
        "To": [{"Email": "bob@example.com"}],
        "CustomID": "msg_2",
        "EventPayload": '{"emailhook_id":"msg_2"}',
        "TextPart": "x",
    }


def test_a_template_goes_by_its_number_with_the_recipients_variables() -> None:
    templated = replace(
        SECOND, text=None, template_id="4242", merge_data={"name": "Bob", "due": "12"}
    )
    [item] = json.loads(MailjetSend().prepare([templated], CONFIG).body)["Messages"]
    assert (item["TemplateID"], item["TemplateLanguage"]) == (4242, True)
    assert item["Variables"] == {"name": "Bob", "due": "12"}
    assert "Subject" not in item


def test_each_result_is_read_in_order_and_big_message_ids_stay_exact() -> None:
    body = json.dumps({"Messages": [_success(BIG, "ann@example.com"), _success(7, "b")]})
    results = MailjetSend().parse(HttpAnswer(200, {}, body.encode()), [MESSAGE, SECOND])
    assert [(r.public_id, r.outcome, r.provider_message_id) for r in results] == [
        ("msg_1", Outcome.ACCEPTED, str(BIG)),
        ("msg_2", Outcome.ACCEPTED, "7"),
    ]


def test_a_partly_failed_call_is_a_400_whose_valid_messages_were_sent() -> None:
    error = {
        "Status": "error",
        "Errors": [
            {
                "ErrorIdentifier": "f987",
                "ErrorCode": "mj-0013",
                "StatusCode": 400,
                "ErrorMessage": '"invalid@123.4" is an invalid email address.',
                "ErrorRelatedTo": ["To[0].Email"],
            }
        ],
    }
    body = json.dumps({"Messages": [_success(BIG, "ann@example.com"), error]}).encode()
    sent, failed = MailjetSend().parse(HttpAnswer(400, {}, body), [MESSAGE, SECOND])
    assert (sent.outcome, sent.provider_message_id) == (Outcome.ACCEPTED, str(BIG))
    assert failed.outcome is Outcome.FAILED
    assert failed.reason == 'mj-0013: "invalid@123.4" is an invalid email address. (To[0].Email)'


def test_throttling_retries_a_5xx_is_uncertain_a_global_error_fails() -> None:
    side = MailjetSend()
    throttled = side.parse(
        HttpAnswer(429, {"content-type": "text/html"}, b"Rate limit exceeded"), [MESSAGE]
    )
    assert [(r.outcome, r.reason) for r in throttled] == [
        (Outcome.RETRY, "HTTP 429: Rate limit exceeded")
    ]
    later = side.parse(HttpAnswer(429, {"retry-after": "3"}, b""), [MESSAGE])
    assert later[0].retry_after == 3.0
    assert side.parse(HttpAnswer(503, {}, b""), [MESSAGE])[0].outcome is Outcome.UNKNOWN
    unauthorized = json.dumps(
        {
            "ErrorIdentifier": "x",
            "ErrorCode": "mj-0002",
            "ErrorMessage": "API key authentication/authorization failure.",
            "StatusCode": 401,
        }
    ).encode()
    [refused] = side.parse(HttpAnswer(401, {}, unauthorized), [MESSAGE])
    assert (refused.outcome, refused.reason) == (
        Outcome.FAILED,
        "HTTP 401: mj-0002: API key authentication/authorization failure.",
    )
    # a result short, or a 200 without results: which were sent cannot be told
    short = json.dumps({"Messages": [_success(1, "a")]}).encode()
    assert {r.outcome for r in side.parse(HttpAnswer(200, {}, short), [MESSAGE, SECOND])} == {
        Outcome.UNKNOWN
    }
    assert side.parse(HttpAnswer(200, {}, b"{}"), [MESSAGE])[0].outcome is Outcome.UNKNOWN


def test_what_mailjet_cannot_carry_is_named() -> None:
    side = MailjetSend()
    assert side.check(MESSAGE) is None
    assert "one tag" in (side.check(replace(MESSAGE, tags=("a", "b"))) or "")
    assert "one reply-to" in (side.check(replace(MESSAGE, reply_to=("a@x.io", "b@x.io"))) or "")
    assert "is a number" in (side.check(replace(MESSAGE, template_id="welcome")) or "")
    assert side.check(replace(MESSAGE, template_id="123")) is None


def test_configured_only_with_both_halves_of_the_key_pair() -> None:
    assert MailjetSend.configure({"api_key": ("pub",), "secret_key": ()}) is None
    assert MailjetSend.configure({"api_key": (), "secret_key": ("sec",)}) is None
    configured = MailjetSend.configure(
        {"api_key": ("p1", "p0"), "secret_key": ("s1", "s0"), "api_url": None, "send_rate": 4.0}
    )
    assert configured is not None
    config, rate = configured
    assert (config.api_url, config.api_key, config.extra["secret_key"], rate) == (
        "https://api.mailjet.com",
        "p1",
        "s1",
        4.0,
    )
