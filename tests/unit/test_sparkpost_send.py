"""SparkPost's send side, field by field: the transmission and what its counts mean."""

from __future__ import annotations

import json

from emailhook.domain.sending.message import Attachment, Category, OutgoingMessage, Recipient
from emailhook.providers.sending import HttpAnswer, Outcome, SendConfig
from emailhook.providers.sparkpost.send import SparkPostSend

CONFIG = SendConfig("https://api.eu.sparkpost.com/api/v1/", "sp-key")
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
    metadata={"qj_contact_id": 7},
    merge_data={"name": "Ann"},
    track_opens=True,
    track_clicks=False,
    category=Category.TRANSACTIONAL,
)


def _answer(status: int, body: object, **headers: str) -> HttpAnswer:
    return HttpAnswer(status, {k.lower(): v for k, v in headers.items()}, json.dumps(body).encode())


def test_a_transmission_carries_our_id_in_each_recipients_metadata() -> None:
    second = OutgoingMessage(
        "msg_2", MESSAGE.from_email, Recipient("bob@example.com"), **{
            f: getattr(MESSAGE, f) for f in ("subject", "text", "html", "reply_to", "headers",
                                             "attachments", "track_opens", "track_clicks",
                                             "category")})  # fmt: skip
    side = SparkPostSend()
    assert side.request_key(MESSAGE) == side.request_key(second)
    request = side.prepare([MESSAGE, second], CONFIG)
    assert (request.method, request.url) == (
        "POST",
        "https://api.eu.sparkpost.com/api/v1/transmissions",
    )
    assert request.headers["Authorization"] == "sp-key"
    assert json.loads(request.body) == {
        "recipients": [
            {
                "address": {"email": "ann@example.com", "name": "Ann"},
                "metadata": {"qj_contact_id": 7, "emailhook_id": "msg_1"},
                "tags": ["dunning"],
                "substitution_data": {"name": "Ann"},
            },
            {"address": {"email": "bob@example.com"}, "metadata": {"emailhook_id": "msg_2"}},
        ],
        "content": {
            "from": {"email": "shop@example.com", "name": "Shop"},
            "subject": "Hi",
            "text": "Hello",
            "html": "<p>Hello</p>",
            "reply_to": "help@example.com",
            "headers": {"X-Campaign": "june"},
            "attachments": [{"name": "a.txt", "type": "text/plain", "data": "aGk="}],
        },
        "options": {"open_tracking": True, "click_tracking": False, "transactional": True},
    }


def test_a_stored_template_is_named_alone() -> None:
    templated = OutgoingMessage(
        "m", "shop@example.com", Recipient("a@example.com"), template_id="welcome"
    )
    body = json.loads(SparkPostSend().prepare([templated], CONFIG).body)
    assert body["content"] == {"template_id": "welcome"}
    assert "options" not in body


def test_the_counts_say_accepted_or_all_refused() -> None:
    side = SparkPostSend()
    two = [MESSAGE, OutgoingMessage("msg_2", "shop@example.com", Recipient("b@example.com"))]
    ok = {"results": {"total_rejected_recipients": 0, "total_accepted_recipients": 2, "id": "77"}}
    assert [(r.outcome, r.provider_message_id) for r in side.parse(_answer(200, ok), two)] == [
        (Outcome.ACCEPTED, "77"),
        (Outcome.ACCEPTED, "77"),
    ]
    refused = {
        "results": {"total_rejected_recipients": 1, "total_accepted_recipients": 0, "id": "78"}
    }
    [one] = side.parse(_answer(200, refused), [MESSAGE])
    assert (one.outcome, one.reason) == (
        Outcome.REJECTED,
        "SparkPost refused the recipient (transmission 78)",
    )
    # some refused, unnamed: SparkPost took the transmission; its policy_rejection events
    # name the refused ones
    mixed = {"results": {"total_rejected_recipients": 1, "total_accepted_recipients": 1, "id": 79}}
    assert {r.outcome for r in side.parse(_answer(200, mixed), two)} == {Outcome.ACCEPTED}
    assert side.parse(_answer(200, {"results": {}}), [MESSAGE])[0].outcome is Outcome.UNKNOWN


def test_a_limit_or_429_retries_a_5xx_is_uncertain_a_refusal_fails_with_sparkposts_words() -> None:
    side = SparkPostSend()
    limit = {"errors": [{"message": "Sending limit exceeded", "code": "2101"}]}
    [quota] = side.parse(_answer(420, limit), [MESSAGE])
    assert (quota.outcome, quota.reason) == (
        Outcome.RETRY,
        "HTTP 420: 2101: Sending limit exceeded",
    )
    [throttled] = side.parse(_answer(429, {}, **{"Retry-After": "3"}), [MESSAGE])
    assert (throttled.outcome, throttled.retry_after) == (Outcome.RETRY, 3.0)
    assert side.parse(_answer(503, {}), [MESSAGE])[0].outcome is Outcome.UNKNOWN
    bad = {
        "errors": [{"message": "invalid data format/type", "description": "from", "code": "1300"}]
    }
    [failed] = side.parse(_answer(422, bad), [MESSAGE])
    assert (failed.outcome, failed.reason) == (
        Outcome.FAILED,
        "HTTP 422: 1300: invalid data format/type (from)",
    )


def test_what_sparkpost_cannot_carry_is_named() -> None:
    side = SparkPostSend()
    assert side.check(MESSAGE) is None
    tags = OutgoingMessage(
        "m", "a@example.com", Recipient("b@example.com"), tags=tuple("abcdefghijk")
    )
    assert side.check(tags) == "SparkPost takes at most 10 tags a recipient"
    templated = OutgoingMessage(
        "m", "a@example.com", Recipient("b@example.com"), template_id="t", html="<p>x</p>"
    )
    assert side.check(templated) == (
        "SparkPost takes the content from the stored template: html cannot go with template_id"
    )
    unsubscribe = OutgoingMessage(
        "m", "a@example.com", Recipient("b@example.com"), template_id="t",
        reply_to=("r@example.com",), headers={"List-Unsubscribe": "<https://u.test/x>"},
    )  # fmt: skip
    assert "reply_to, headers (List-Unsubscribe) cannot go" in (side.check(unsubscribe) or "")


def test_configured_only_with_a_key_the_us_api_by_default() -> None:
    assert SparkPostSend.configure({"api_key": ()}) is None
    configured = SparkPostSend.configure({"api_key": ("k1",), "api_url": None, "send_rate": 3.0})
    assert configured is not None
    config, rate = configured
    assert (config.api_url, config.api_key, rate) == ("https://api.sparkpost.com/api/v1", "k1", 3.0)
