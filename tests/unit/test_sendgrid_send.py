"""SendGrid's send side, field by field: one personalization a message, the request-level
options that split requests, and each answer's result."""

from __future__ import annotations

import json

from emailhook.domain.sending.message import Attachment, OutgoingMessage, Recipient
from emailhook.domain.sending.retries import Resolution
from emailhook.providers.sendgrid.send import SendGridSend
from emailhook.providers.sending import HttpAnswer, Outcome, SendConfig

CONFIG = SendConfig("http://sg.test/", "SG.key")
MESSAGE = OutgoingMessage(
    public_id="msg_1",
    from_email="Shop <shop@example.com>",
    to=Recipient("ann@example.com", "Ann"),
    subject="Hi",
    text="Hello",
    html="<p>Hello</p>",
    reply_to=("help@example.com",),
    headers={"X-Campaign": "june"},
    attachments=(Attachment("a.txt", "aGk=", "text/plain"),),
    tags=("dunning",),
    metadata={"qj_contact_id": 7, "campaign": "c1"},
    track_opens=True,
    track_clicks=False,
)
SECOND = OutgoingMessage("msg_2", "shop@example.com", Recipient("bob@example.com"), "Yo", "Hey")


def test_the_request_carries_our_id_in_custom_args_and_every_field() -> None:
    request = SendGridSend().prepare([MESSAGE], CONFIG)
    assert (request.method, request.url) == ("POST", "http://sg.test/v3/mail/send")
    assert request.headers["Authorization"] == "Bearer SG.key"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.body) == {
        "personalizations": [
            {
                "to": [{"email": "ann@example.com", "name": "Ann"}],
                "custom_args": {"qj_contact_id": "7", "campaign": "c1", "emailhook_id": "msg_1"},
                "subject": "Hi",
                "headers": {"X-Campaign": "june"},
            }
        ],
        "from": {"email": "shop@example.com", "name": "Shop"},
        "content": [
            {"type": "text/plain", "value": "Hello"},
            {"type": "text/html", "value": "<p>Hello</p>"},
        ],
        "reply_to": {"email": "help@example.com"},
        "attachments": [{"filename": "a.txt", "content": "aGk=", "type": "text/plain"}],
        "categories": ["dunning"],
        "tracking_settings": {
            "open_tracking": {"enable": True},
            "click_tracking": {"enable": False, "enable_text": False},
        },
    }


def test_a_batch_is_one_personalization_a_message() -> None:
    third = OutgoingMessage("msg_3", "shop@example.com", Recipient("cy@example.com"), "Yo", "Hey")
    body = json.loads(SendGridSend().prepare([SECOND, third], CONFIG).body)
    assert [p["to"] for p in body["personalizations"]] == [
        [{"email": "bob@example.com"}],
        [{"email": "cy@example.com"}],
    ]
    assert [p["custom_args"]["emailhook_id"] for p in body["personalizations"]] == [
        "msg_2",
        "msg_3",
    ]
    assert body["content"] == [{"type": "text/plain", "value": "Hey"}]
    assert "tracking_settings" not in body
    assert "categories" not in body


def test_a_template_carries_its_merge_data_per_personalization() -> None:
    templated = OutgoingMessage(
        "msg_4",
        "shop@example.com",
        Recipient("ann@example.com"),
        template_id="d-123",
        merge_data={"name": "Ann"},
        reply_to=("a@example.com", "B <b@example.com>"),
    )
    body = json.loads(SendGridSend().prepare([templated], CONFIG).body)
    assert body["template_id"] == "d-123"
    assert "content" not in body
    assert body["personalizations"][0]["dynamic_template_data"] == {"name": "Ann"}
    assert "subject" not in body["personalizations"][0]
    assert body["reply_to_list"] == [
        {"email": "a@example.com"},
        {"email": "b@example.com", "name": "B"},
    ]


def test_only_messages_that_share_the_request_level_options_share_a_request() -> None:
    side = SendGridSend()
    same = OutgoingMessage("msg_5", "shop@example.com", Recipient("x@example.com"), "Other", "Hey")
    other_body = OutgoingMessage("msg_6", "shop@example.com", Recipient("y@example.com"), "Yo", "X")
    tracked = OutgoingMessage(
        "msg_7", "shop@example.com", Recipient("z@example.com"), "Yo", "Hey", track_opens=False
    )
    assert side.request_key(SECOND) == side.request_key(same)  # subject is per personalization
    assert side.request_key(SECOND) != side.request_key(other_body)
    assert side.request_key(SECOND) != side.request_key(tracked)


def test_a_202_accepts_every_message_with_the_x_message_id() -> None:
    answer = HttpAnswer(202, {"x-message-id": "W86EgYT6SQKk0lRflfLRsA"}, b"")
    results = SendGridSend().parse(answer, [MESSAGE, SECOND])
    assert [(r.public_id, r.outcome, r.provider_message_id) for r in results] == [
        ("msg_1", Outcome.ACCEPTED, "W86EgYT6SQKk0lRflfLRsA"),
        ("msg_2", Outcome.ACCEPTED, "W86EgYT6SQKk0lRflfLRsA"),
    ]


def test_throttling_retries_at_the_reset_a_5xx_is_uncertain_a_refusal_fails() -> None:
    side = SendGridSend()
    limited = HttpAnswer(
        429,
        {"x-ratelimit-reset": "1765030000", "date": "Sat, 06 Dec 2025 14:06:30 GMT"},
        b'{"errors":[{"message":"too many requests","field":null,"help":null}]}',
    )
    [throttled] = side.parse(limited, [MESSAGE])
    assert (throttled.outcome, throttled.retry_after) == (Outcome.RETRY, 10.0)
    assert side.parse(HttpAnswer(429, {}, b""), [MESSAGE])[0].retry_after is None
    assert side.parse(HttpAnswer(503, {}, b""), [MESSAGE])[0].outcome is Outcome.UNKNOWN
    assert side.parse(HttpAnswer(202, {}, b""), [MESSAGE])[0].outcome is Outcome.UNKNOWN
    assert side.parse(HttpAnswer(200, {}, b""), [MESSAGE])[0].outcome is Outcome.UNKNOWN
    error = json.dumps(
        {"errors": [{"message": "Invalid type.", "field": "custom_args", "help": None}]}
    ).encode()
    [refused] = side.parse(HttpAnswer(400, {}, error), [MESSAGE])
    assert (refused.outcome, refused.reason) == (
        Outcome.FAILED,
        "HTTP 400: custom_args: Invalid type.",
    )


def test_an_ambiguous_failure_is_never_resent_and_what_sendgrid_cannot_carry_is_named() -> None:
    side = SendGridSend()
    assert side.resolution is Resolution.NONE
    assert side.max_batch == 1000
    many = OutgoingMessage(
        "m", "a@example.com", Recipient("b@example.com"), tags=tuple(f"t{n}" for n in range(11))
    )
    big = OutgoingMessage(
        "m", "a@example.com", Recipient("b@example.com"), metadata={"x": "y" * 10_000}
    )
    assert side.check(MESSAGE) is None
    assert "10 tags" in (side.check(many) or "")
    assert "10000 bytes" in (side.check(big) or "")


def test_configured_only_with_an_api_key() -> None:
    assert SendGridSend.configure({"api_key": ()}) is None
    configured = SendGridSend.configure(
        {"api_key": ("k1", "k0"), "api_url": None, "send_rate": 5.0}
    )
    assert configured is not None
    config, rate = configured
    assert (config.api_url, config.api_key, rate) == ("https://api.sendgrid.com", "k1", 5.0)
