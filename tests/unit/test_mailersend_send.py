"""MailerSend's send side, field by field: the email request and the answers of a 202."""

from __future__ import annotations

import json

from emailhook.domain.sending.message import Attachment, OutgoingMessage, Recipient
from emailhook.providers.mailersend.send import MailerSendSend
from emailhook.providers.sending import HttpAnswer, Outcome, SendConfig

CONFIG = SendConfig("http://ms.test/v1/", "mlsn.tok")
MESSAGE = OutgoingMessage(
    public_id="msg_1",
    from_email="Shop <shop@example.com>",
    to=Recipient("ann@example.com", "Ann"),
    subject="Hi",
    text="Hello",
    html="<p>Hello</p>",
    reply_to=("Help <help@example.com>",),
    headers={
        "X-Campaign": "june",
        "List-Unsubscribe": "<https://eh.test/unsubscribe/t0k>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "In-Reply-To": "<m1@example.com>",
    },
    attachments=(Attachment("a.txt", "aGk=", "text/plain"),),
    tags=("dunning", "june"),
    track_opens=True,
    track_clicks=False,
)


def test_the_email_carries_every_field() -> None:
    request = MailerSendSend().prepare([MESSAGE], CONFIG)
    assert (request.method, request.url) == ("POST", "http://ms.test/v1/email")
    assert request.headers["Authorization"] == "Bearer mlsn.tok"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.body) == {
        "from": {"email": "shop@example.com", "name": "Shop"},
        "to": [{"email": "ann@example.com", "name": "Ann"}],
        "subject": "Hi",
        "text": "Hello",
        "html": "<p>Hello</p>",
        "reply_to": {"email": "help@example.com", "name": "Help"},
        "tags": ["dunning", "june"],
        "headers": [{"name": "X-Campaign", "value": "june"}],
        "list_unsubscribe": "https://eh.test/unsubscribe/t0k",
        "in_reply_to": "<m1@example.com>",
        "attachments": [{"content": "aGk=", "filename": "a.txt", "disposition": "attachment"}],
        "settings": {"track_opens": True, "track_clicks": False},
    }


def test_a_template_gets_the_recipients_personalization() -> None:
    templated = OutgoingMessage(
        "msg_2",
        "shop@example.com",
        Recipient("bob@example.com"),
        template_id="tpl-9",
        merge_data={"name": "Bob"},
    )
    body = json.loads(MailerSendSend().prepare([templated], CONFIG).body)
    assert body == {
        "from": {"email": "shop@example.com"},
        "to": [{"email": "bob@example.com"}],
        "template_id": "tpl-9",
        "personalization": [{"email": "bob@example.com", "data": {"name": "Bob"}}],
    }


def test_a_bare_202_is_accepted_under_its_message_id() -> None:
    answer = HttpAnswer(202, {"x-message-id": "ms-1"}, b"")
    [result] = MailerSendSend().parse(answer, [MESSAGE])
    assert (result.outcome, result.provider_message_id) == (Outcome.ACCEPTED, "ms-1")
    [unknown] = MailerSendSend().parse(HttpAnswer(202, {}, b""), [MESSAGE])
    assert unknown.outcome is Outcome.UNKNOWN


def test_a_suppressed_recipient_is_rejected_with_mailersends_reasons() -> None:
    body = {
        "message": "There are some warnings for your request.",
        "warnings": [
            {
                "type": "ALL_SUPPRESSED",
                "warning": "All of the recipients have been suppressed.",
                "recipients": [
                    {"email": "Ann@example.com", "name": "", "reasons": ["hard_bounced"]}
                ],
            }
        ],
    }
    answer = HttpAnswer(202, {}, json.dumps(body).encode())
    [result] = MailerSendSend().parse(answer, [MESSAGE])
    assert (result.outcome, result.reason) == (Outcome.REJECTED, "ALL_SUPPRESSED: hard_bounced")
    # another recipient of a SOME_SUPPRESSED answer is accepted under the message id
    other = OutgoingMessage("msg_3", "shop@example.com", Recipient("cy@example.com"))
    body["warnings"][0]["type"] = "SOME_SUPPRESSED"
    answer = HttpAnswer(202, {"x-message-id": "ms-2"}, json.dumps(body).encode())
    rejected, accepted = MailerSendSend().parse(answer, [MESSAGE, other])
    assert (rejected.outcome, accepted.outcome) == (Outcome.REJECTED, Outcome.ACCEPTED)
    assert accepted.provider_message_id == "ms-2"


def test_throttling_retries_a_5xx_is_uncertain_a_refusal_fails_with_its_fields() -> None:
    side = MailerSendSend()
    throttled = HttpAnswer(
        429, {"retry-after": "12", "x-ratelimit-remaining": "0"}, b'{"message":"Too Many"}'
    )
    [retry] = side.parse(throttled, [MESSAGE])
    assert (retry.outcome, retry.retry_after) == (Outcome.RETRY, 12.0)
    assert side.parse(HttpAnswer(502, {}, b""), [MESSAGE])[0].outcome is Outcome.UNKNOWN
    invalid = {
        "message": "The from.email must be verified.",
        "errors": {"from.email": ["The from.email domain must be verified in your account."]},
    }
    [refused] = side.parse(HttpAnswer(422, {}, json.dumps(invalid).encode()), [MESSAGE])
    assert refused.outcome is Outcome.FAILED
    assert refused.reason == (
        "HTTP 422: The from.email must be verified. (from.email: The from.email domain must be"
        " verified in your account.)"
    )


def test_what_mailersend_cannot_carry_is_named() -> None:
    side = MailerSendSend()
    base = OutgoingMessage("m", "a@example.com", Recipient("b@example.com"), text="t", html="h")
    assert side.check(MESSAGE) is None
    assert side.check(base) is None
    assert "metadata" in (side.check(_with(base, metadata={"k": 1})) or "")
    assert "5 tags" in (side.check(_with(base, tags=tuple("abcdef"))) or "")
    assert "one reply_to" in (side.check(_with(base, reply_to=("x@e.com", "y@e.com"))) or "")
    assert "; or ," in (side.check(_with(base, to=Recipient("b@example.com", "B, C"))) or "")
    assert "text and html" in (side.check(_with(base, html=None)) or "")
    assert "header names" in (side.check(_with(base, headers={"X_Odd": "1"})) or "")
    assert side.features == {
        "template_id",
        "attachments",
        "tags",
        "headers",
        "track_opens",
        "track_clicks",
    }


def test_configured_only_with_a_token_one_message_a_call() -> None:
    side = MailerSendSend()
    assert (side.max_batch, side.resolution.value) == (1, "none")
    assert MailerSendSend.configure({"api_token": ()}) is None
    configured = MailerSendSend.configure(
        {"api_token": ("t1", "t0"), "api_url": None, "send_rate": 3.0}
    )
    assert configured is not None
    config, rate = configured
    assert (config.api_url, config.api_key, rate) == ("https://api.mailersend.com/v1", "t1", 3.0)


def _with(message: OutgoingMessage, **changes: object) -> OutgoingMessage:
    fields = {name: getattr(message, name) for name in OutgoingMessage.__slots__}
    return OutgoingMessage(**(fields | changes))  # type: ignore[arg-type]
