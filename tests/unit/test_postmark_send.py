"""Postmark's send side, field by field: the batch request and each message's result."""

from __future__ import annotations

import json

from emailhook.domain.sending.message import Attachment, OutgoingMessage, Recipient
from emailhook.providers.postmark.send import PostmarkSend
from emailhook.providers.sending import HttpAnswer, Outcome, SendConfig

CONFIG = SendConfig("http://pm.test", "tok", extra={"message_stream": "broadcast"})
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


def test_the_batch_carries_our_id_in_metadata_and_every_field() -> None:
    request = PostmarkSend().prepare([MESSAGE], CONFIG)
    assert (request.method, request.url) == ("POST", "http://pm.test/email/batch")
    assert request.headers["X-Postmark-Server-Token"] == "tok"
    [message] = json.loads(request.body)
    assert message == {
        "From": "Shop <shop@example.com>",
        "To": '"Ann" <ann@example.com>',
        "Subject": "Hi",
        "MessageStream": "broadcast",
        "Metadata": {"qj_contact_id": "7", "campaign": "c1", "emailhook_id": "msg_1"},
        "TextBody": "Hello",
        "HtmlBody": "<p>Hello</p>",
        "ReplyTo": "help@example.com",
        "Headers": [{"Name": "X-Campaign", "Value": "june"}],
        "Tag": "dunning",
        "TrackOpens": True,
        "TrackLinks": "None",
        "Attachments": [{"Name": "a.txt", "Content": "aGk=", "ContentType": "text/plain"}],
    }


def test_each_message_gets_its_own_result_in_order() -> None:
    second = OutgoingMessage("msg_2", "shop@example.com", Recipient("gone@example.com"))
    third = OutgoingMessage("msg_3", "shop@example.com", Recipient("bad@example.com"))
    body = json.dumps(
        [
            {"ErrorCode": 0, "Message": "OK", "MessageID": "pm-1"},
            {"ErrorCode": 406, "Message": "You tried to send to a recipient marked inactive."},
            {"ErrorCode": 300, "Message": "Invalid email request"},
        ]
    ).encode()
    results = PostmarkSend().parse(HttpAnswer(200, {}, body), [MESSAGE, second, third])
    assert [(r.public_id, r.outcome, r.provider_message_id) for r in results] == [
        ("msg_1", Outcome.ACCEPTED, "pm-1"),
        ("msg_2", Outcome.REJECTED, None),
        ("msg_3", Outcome.FAILED, None),
    ]
    assert (results[1].reason or "").startswith("406")


def test_throttling_retries_a_5xx_is_uncertain_a_refusal_fails() -> None:
    side = PostmarkSend()
    error = json.dumps({"ErrorCode": 10, "Message": "bad token"}).encode()
    assert side.parse(HttpAnswer(429, {}, b""), [MESSAGE])[0].outcome is Outcome.RETRY
    assert side.parse(HttpAnswer(503, {}, b""), [MESSAGE])[0].outcome is Outcome.UNKNOWN
    [refused] = side.parse(HttpAnswer(401, {}, error), [MESSAGE])
    assert (refused.outcome, refused.reason) == (Outcome.FAILED, "10: bad token")
    assert side.parse(HttpAnswer(200, {}, b"[]"), [MESSAGE])[0].outcome is Outcome.UNKNOWN


def test_what_postmark_cannot_carry_is_named() -> None:
    side = PostmarkSend()
    two_tags = OutgoingMessage("m", "a@example.com", Recipient("b@example.com"), tags=("a", "b"))
    long_name = OutgoingMessage(
        "m", "a@example.com", Recipient("b@example.com"), metadata={"x" * 21: 1}
    )
    assert side.check(MESSAGE) is None
    assert side.check(two_tags) == "Postmark takes one tag a message"
    assert "20 characters" in (side.check(long_name) or "")


def test_configured_only_with_a_server_token() -> None:
    assert PostmarkSend.configure({"server_token": ()}) is None
    configured = PostmarkSend.configure(
        {"server_token": ("t1", "t0"), "api_url": None, "message_stream": None, "send_rate": 5.0}
    )
    assert configured is not None
    config, rate = configured
    assert (config.api_url, config.api_key, rate) == ("https://api.postmarkapp.com", "t1", 5.0)
