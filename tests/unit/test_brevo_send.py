"""Brevo's send side, field by field: the call with one version a message, its idempotency
key (a UUID of the message ids), and each answer's result (429, duplicate_parameter...)."""

from __future__ import annotations

import json
import uuid

from emailhook.domain.sending.message import Attachment, OutgoingMessage, Recipient
from emailhook.domain.sending.retries import Resolution
from emailhook.providers.brevo.send import (
    IDEMPOTENCY_TTL,
    BrevoSend,
    idempotency_key,
)
from emailhook.providers.send_registry import SENDERS
from emailhook.providers.sending import HttpAnswer, Outcome, SendConfig, SendSide

CONFIG = SendConfig("http://brevo.test/v3/", "xkeysib-key")
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
    tags=("welcome",),
    metadata={"qj_contact_id": 7, "campaign": "c1"},
    merge_data={"name": "Ann"},
)
SECOND = OutgoingMessage("msg_0", "Shop <shop@example.com>", Recipient("bob@example.com"), "Yo")


def _answer(status: int, body: object, headers: dict[str, str] | None = None) -> HttpAnswer:
    return HttpAnswer(status, headers or {}, json.dumps(body).encode())


def test_the_call_carries_one_version_a_message_with_our_id_in_x_mailin_custom() -> None:
    request = BrevoSend().prepare([MESSAGE], CONFIG)
    assert (request.method, request.url) == ("POST", "http://brevo.test/v3/smtp/email")
    assert request.headers["api-key"] == "xkeysib-key"
    assert request.headers["Content-Type"] == "application/json"
    body = json.loads(request.body)
    assert body == {
        "sender": {"email": "shop@example.com", "name": "Shop"},
        "htmlContent": "<p>Hello</p>",
        "textContent": "Hello",
        "attachment": [{"name": "a.txt", "content": "aGk="}],
        "tags": ["welcome"],
        "headers": {"idempotencyKey": idempotency_key(["msg_1"])},
        "messageVersions": [
            {
                "to": [{"email": "ann@example.com", "name": "Ann"}],
                "headers": {
                    "X-Campaign": "june",
                    "X-Mailin-custom": '{"qj_contact_id":7,"campaign":"c1","emailhook_id":"msg_1"}',
                },
                "subject": "Hi",
                "replyTo": {"email": "help@example.com"},
                "params": {"name": "Ann"},
            }
        ],
    }


def test_a_template_goes_by_its_number() -> None:
    templated = OutgoingMessage("msg_2", "shop@example.com", Recipient("a@x.com"), template_id="12")
    body = json.loads(BrevoSend().prepare([templated], CONFIG).body)
    assert body["templateId"] == 12
    assert "htmlContent" not in body


def test_the_key_is_a_uuid_of_the_message_ids_and_the_same_in_any_order() -> None:
    side = BrevoSend()
    one = side.prepare([MESSAGE, SECOND], CONFIG)
    two = side.prepare([SECOND, MESSAGE], CONFIG)
    assert one.body == two.body
    key = json.loads(one.body)["headers"]["idempotencyKey"]
    assert uuid.UUID(key).version == 5
    assert key == idempotency_key(["msg_1", "msg_0"]) != idempotency_key(["msg_1"])
    versions = json.loads(one.body)["messageVersions"]
    assert [v["to"][0]["email"] for v in versions] == ["bob@example.com", "ann@example.com"]


def test_the_rules() -> None:
    side = BrevoSend()
    assert isinstance(side, SendSide)
    assert any(isinstance(s, BrevoSend) for s in SENDERS)
    assert (side.max_batch, side.resolution) == (1000, Resolution.IDEMPOTENT)
    assert side.idempotency_seconds <= IDEMPOTENCY_TTL / 2
    assert "track_opens" not in side.features
    assert "track_clicks" not in side.features
    assert side.check(MESSAGE) is None
    two_replies = OutgoingMessage("m", "a@x.com", Recipient("b@x.com"), reply_to=("c@x", "d@x"))
    assert "one reply_to" in (side.check(two_replies) or "")
    named = OutgoingMessage("m", "a@x.com", Recipient("b@x.com"), template_id="welcome")
    assert "template_id is a number" in (side.check(named) or "")
    ours = OutgoingMessage("m", "a@x.com", Recipient("b@x.com"), headers={"x-mailin-custom": "1"})
    assert "x-mailin-custom carries our id" in (side.check(ours) or "")
    # what Brevo keeps for the whole call keys the request; the rest goes per version
    assert side.request_key(MESSAGE) != side.request_key(SECOND)
    other_subject = OutgoingMessage(
        "m", SECOND.from_email, Recipient("c@x.com"), subject="Other", metadata={"a": 1}
    )
    assert side.request_key(other_subject) == side.request_key(SECOND)


def test_the_201_gives_each_version_its_message_id_in_order() -> None:
    answer = _answer(201, {"messageIds": ["<a@smtp-relay.mailin.fr>", "<b@smtp-relay.mailin.fr>"]})
    results = BrevoSend().parse(answer, [MESSAGE, SECOND])
    assert [(r.public_id, r.outcome, r.provider_message_id) for r in results] == [
        ("msg_0", Outcome.ACCEPTED, "<a@smtp-relay.mailin.fr>"),
        ("msg_1", Outcome.ACCEPTED, "<b@smtp-relay.mailin.fr>"),
    ]
    single = BrevoSend().parse(_answer(201, {"messageId": "<c@x>"}), [MESSAGE])
    assert single[0].provider_message_id == "<c@x>"
    short = BrevoSend().parse(_answer(201, {"messageIds": ["<a@x>"]}), [MESSAGE, SECOND])
    assert {r.outcome for r in short} == {Outcome.UNKNOWN}


def test_a_429_waits_for_the_reset() -> None:
    headers = {"x-sib-ratelimit-limit": "10", "x-sib-ratelimit-reset": "42"}
    body = {"code": "too_many_requests", "message": "Too many requests"}
    [result] = BrevoSend().parse(_answer(429, body, headers), [MESSAGE])
    assert (result.outcome, result.retry_after) == (Outcome.RETRY, 42.0)
    assert result.reason == "429 too_many_requests: Too many requests"


def test_a_known_key_means_brevo_holds_the_first_call() -> None:
    body = {"code": "duplicate_parameter", "message": "idempotencyKey already used"}
    [result] = BrevoSend().parse(_answer(400, body), [MESSAGE])
    assert result.outcome is Outcome.ACCEPTED
    assert result.provider_message_id is None
    assert "duplicate_parameter" in (result.reason or "")


def test_a_5xx_is_uncertain_and_a_refusal_fails_with_brevos_words() -> None:
    [five] = BrevoSend().parse(HttpAnswer(502, {}, b"<html>bad gateway</html>"), [MESSAGE])
    assert (five.outcome, five.reason) == (Outcome.UNKNOWN, "HTTP 502")
    body = {"code": "invalid_parameter", "message": "sender is invalid"}
    [refused] = BrevoSend().parse(_answer(400, body), [MESSAGE])
    assert (refused.outcome, refused.reason) == (
        Outcome.FAILED,
        "400 invalid_parameter: sender is invalid",
    )
    [unauthorized] = BrevoSend().parse(_answer(401, {"code": "unauthorized"}), [MESSAGE])
    assert unauthorized.outcome is Outcome.FAILED


def test_configure_needs_a_key_and_defaults_the_url() -> None:
    assert BrevoSend.configure({}) is None
    configured = BrevoSend.configure({"api_key": ("k1", "k2"), "send_rate": 3.0})
    assert configured is not None
    config, rate = configured
    assert (config.api_url, config.api_key, rate) == ("https://api.brevo.com/v3", "k1", 3.0)
