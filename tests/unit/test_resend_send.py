"""Resend's send side, field by field: the batch, its idempotency key, and each answer's
result (its 409s included)."""

from __future__ import annotations

import json

from emailhook.domain.sending.message import OutgoingMessage, Recipient
from emailhook.domain.sending.retries import Resolution
from emailhook.providers.resend.send import ResendSend, idempotency_key
from emailhook.providers.sending import HttpAnswer, Outcome, SendConfig

CONFIG = SendConfig("http://re.test", "re_key")
MESSAGE = OutgoingMessage(
    public_id="msg_1",
    from_email="Shop <shop@example.com>",
    to=Recipient("ann@example.com", "Ann"),
    subject="Hi",
    text="Hello",
    html="<p>Hello</p>",
    reply_to=("help@example.com",),
    headers={"X-Campaign": "june"},
    metadata={"qj_contact_id": 7, "campaign": "c1"},
)
SECOND = OutgoingMessage("msg_0", "shop@example.com", Recipient("bob@example.com"), "Yo", "Hey")


def _error(status: int, name: str) -> HttpAnswer:
    body = {"statusCode": status, "message": "words", "name": name}
    return HttpAnswer(status, {}, json.dumps(body).encode())


def test_the_batch_carries_our_id_in_tags_and_every_field() -> None:
    request = ResendSend().prepare([MESSAGE], CONFIG)
    assert (request.method, request.url) == ("POST", "http://re.test/emails/batch")
    assert request.headers["Authorization"] == "Bearer re_key"
    assert request.headers["Idempotency-Key"] == idempotency_key(["msg_1"])
    assert json.loads(request.body) == [
        {
            "from": "Shop <shop@example.com>",
            "to": ['"Ann" <ann@example.com>'],
            "subject": "Hi",
            "tags": [
                {"name": "qj_contact_id", "value": "7"},
                {"name": "campaign", "value": "c1"},
                {"name": "emailhook_id", "value": "msg_1"},
            ],
            "text": "Hello",
            "html": "<p>Hello</p>",
            "reply_to": ["help@example.com"],
            "headers": {"X-Campaign": "june"},
        }
    ]


def test_the_same_messages_make_the_same_request_whatever_their_order() -> None:
    side = ResendSend()
    one = side.prepare([MESSAGE, SECOND], CONFIG)
    two = side.prepare([SECOND, MESSAGE], CONFIG)
    assert (one.body, one.headers) == (two.body, two.headers)
    assert [e["tags"][-1]["value"] for e in json.loads(one.body)] == ["msg_0", "msg_1"]
    assert (
        one.headers["Idempotency-Key"] != side.prepare([MESSAGE], CONFIG).headers["Idempotency-Key"]
    )
    assert len(one.headers["Idempotency-Key"]) <= 256


def test_each_message_gets_the_id_in_its_place() -> None:
    body = json.dumps({"data": [{"id": "re-0"}, {"id": "re-1"}]}).encode()
    results = ResendSend().parse(HttpAnswer(200, {}, body), [MESSAGE, SECOND])
    assert sorted((r.public_id, r.outcome, r.provider_message_id) for r in results) == [
        ("msg_0", Outcome.ACCEPTED, "re-0"),
        ("msg_1", Outcome.ACCEPTED, "re-1"),
    ]
    unreadable = ResendSend().parse(HttpAnswer(200, {}, b'{"data": []}'), [MESSAGE])
    assert unreadable[0].outcome is Outcome.UNKNOWN


def test_429_retries_after_retry_after_and_409s_stay_uncertain() -> None:
    side = ResendSend()
    limited = _error(429, "rate_limit_exceeded")
    limited = HttpAnswer(429, {"retry-after": "2"}, limited.body)
    [throttled] = side.parse(limited, [MESSAGE])
    assert (throttled.outcome, throttled.retry_after) == (Outcome.RETRY, 2.0)
    for name in ("concurrent_idempotent_requests", "invalid_idempotent_request"):
        [result] = side.parse(_error(409, name), [MESSAGE])
        assert result.outcome is Outcome.UNKNOWN
        assert name in (result.reason or "")
    assert side.parse(_error(500, "application_error"), [MESSAGE])[0].outcome is Outcome.UNKNOWN
    [refused] = side.parse(_error(422, "validation_error"), [MESSAGE])
    assert (refused.outcome, refused.reason) == (Outcome.FAILED, "422 validation_error: words")
    assert side.parse(HttpAnswer(403, {}, b"nope"), [MESSAGE])[0].outcome is Outcome.FAILED


def test_resent_with_the_same_key_and_what_resend_cannot_carry_is_named() -> None:
    side = ResendSend()
    assert side.resolution is Resolution.IDEMPOTENT
    assert side.max_batch == 100
    assert {"attachments", "tags", "track_opens", "track_clicks", "template_id"}.isdisjoint(
        side.features
    )
    spaced = OutgoingMessage(
        "m", "a@example.com", Recipient("b@example.com"), metadata={"campaign": "june 2026"}
    )
    assert side.check(MESSAGE) is None
    assert "campaign=june 2026" in (side.check(spaced) or "")


def test_configured_only_with_an_api_key() -> None:
    assert ResendSend.configure({"api_key": ()}) is None
    configured = ResendSend.configure({"api_key": ("re_1",), "api_url": None, "send_rate": 2.0})
    assert configured is not None
    config, rate = configured
    assert (config.api_url, config.api_key, rate) == ("https://api.resend.com", "re_1", 2.0)
