"""Postal's send side, field by field: one call a message, our id as a header, and the
answer (always HTTP 200: ``status`` says) read per recipient."""

from __future__ import annotations

import json

import pytest

from emailhook.domain.sending.message import Attachment, OutgoingMessage, Recipient
from emailhook.domain.sending.retries import Resolution
from emailhook.providers.postal.send import PostalSend
from emailhook.providers.send_registry import SENDERS
from emailhook.providers.sending import HttpAnswer, Outcome, SendConfig, SendSide

CONFIG = SendConfig("https://postal.example/", "server-key")
MESSAGE = OutgoingMessage(
    public_id="msg_1",
    from_email="Shop <shop@example.com>",
    to=Recipient("Ann@Example.com", "Ann"),
    subject="Hi",
    text="Hello",
    html="<p>Hello</p>",
    reply_to=("help@example.com",),
    headers={"X-Campaign": "june"},
    attachments=(Attachment("a.txt", "aGk=", "text/plain"),),
    tags=("welcome",),
)


def _answer(body: object, status: int = 200) -> HttpAnswer:
    return HttpAnswer(status, {}, json.dumps(body).encode())


def test_the_call_carries_every_field_and_our_id_as_a_header() -> None:
    request = PostalSend().prepare([MESSAGE], CONFIG)
    assert (request.method, request.url) == ("POST", "https://postal.example/api/v1/send/message")
    assert request.headers["X-Server-API-Key"] == "server-key"
    assert json.loads(request.body) == {
        "to": ['"Ann" <Ann@Example.com>'],
        "from": "Shop <shop@example.com>",
        "subject": "Hi",
        "headers": {"X-Campaign": "june", "X-Emailhook-Id": "msg_1"},
        "plain_body": "Hello",
        "html_body": "<p>Hello</p>",
        "reply_to": "help@example.com",
        "tag": "welcome",
        "attachments": [{"name": "a.txt", "content_type": "text/plain", "data": "aGk="}],
    }


def test_the_rules() -> None:
    side = PostalSend()
    assert isinstance(side, SendSide)
    assert any(isinstance(s, PostalSend) for s in SENDERS)
    assert (side.max_batch, side.resolution) == (1, Resolution.NONE)
    assert side.features == {"attachments", "tags", "headers"}  # no metadata: nothing echoes it
    assert side.check(MESSAGE) is None
    two = OutgoingMessage("m", "a@x.com", Recipient("b@x.com"), tags=("a", "b"))
    assert "one tag" in (side.check(two) or "")
    ours = OutgoingMessage("m", "a@x.com", Recipient("b@x.com"), headers={"x-emailhook-id": "1"})
    assert "X-Emailhook-Id" in (side.check(ours) or "")
    with pytest.raises(ValueError, match="one message a call"):
        side.prepare([MESSAGE, MESSAGE], CONFIG)


def test_success_gives_the_recipients_postal_id() -> None:
    body = {
        "status": "success",
        "time": 0.01,
        "flags": {},
        "data": {
            "message_id": "u@psrp.example.com",
            "messages": {"ann@example.com": {"id": 1563, "token": "zw6psSlgo6ki"}},
        },
    }
    [result] = PostalSend().parse(_answer(body), [MESSAGE])
    assert (result.outcome, result.provider_message_id) == (Outcome.ACCEPTED, "1563")
    body["data"]["messages"] = {}  # type: ignore[index]
    [missing] = PostalSend().parse(_answer(body), [MESSAGE])
    assert missing.outcome is Outcome.UNKNOWN


def test_an_error_fails_with_postals_code_and_words() -> None:
    body = {
        "status": "error",
        "data": {"code": "UnauthenticatedFromAddress", "message": "The From address is not"},
    }
    [result] = PostalSend().parse(_answer(body), [MESSAGE])
    assert result.outcome is Outcome.FAILED
    assert result.reason == "error UnauthenticatedFromAddress: The From address is not"
    [param] = PostalSend().parse(
        _answer({"status": "parameter-error", "data": {"message": "bad"}}), [MESSAGE]
    )
    assert (param.outcome, param.reason) == (Outcome.FAILED, "parameter-error : bad")


def test_a_429_retries_a_5xx_is_uncertain_a_garbled_200_too() -> None:
    throttled = HttpAnswer(429, {"retry-after": "5"}, b"Too Many Requests")
    [result] = PostalSend().parse(throttled, [MESSAGE])
    assert (result.outcome, result.retry_after) == (Outcome.RETRY, 5.0)
    [five] = PostalSend().parse(HttpAnswer(503, {}, b"<html/>"), [MESSAGE])
    assert five.outcome is Outcome.UNKNOWN
    [garbled] = PostalSend().parse(HttpAnswer(200, {}, b"<html/>"), [MESSAGE])
    assert garbled.outcome is Outcome.UNKNOWN
    [proxy] = PostalSend().parse(HttpAnswer(404, {}, b"<html/>"), [MESSAGE])
    assert (proxy.outcome, proxy.reason) == (Outcome.FAILED, "HTTP 404")


def test_configure_needs_a_key_and_a_url() -> None:
    with pytest.raises(ValueError, match="EMAILHOOK_POSTAL_API_URL is required"):
        PostalSend.configure({"api_key": ("k",)})  # no public default URL
    assert PostalSend.configure({"api_url": "https://p.example"}) is None
    configured = PostalSend.configure({"api_key": ("k",), "api_url": "https://p.example"})
    assert configured is not None
    assert configured[0].api_url == "https://p.example"
