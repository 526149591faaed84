"""Unisender Go's send side, field by field: the call and each recipient's result."""

from __future__ import annotations

import json

from emailhook.domain.sending.message import Attachment, OutgoingMessage, Recipient
from emailhook.providers.sending import HttpAnswer, Outcome, SendConfig
from emailhook.providers.unisender_go.send import UnisenderGoSend

CONFIG = SendConfig("http://go.test/en/transactional/api/v1/", "k3y")
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


def _to(public_id: str, email: str) -> OutgoingMessage:
    return OutgoingMessage(public_id, "shop@example.com", Recipient(email), text="t")


def test_the_call_carries_every_field_and_our_id_in_each_recipients_metadata() -> None:
    second = OutgoingMessage(
        "msg_2",
        MESSAGE.from_email,
        Recipient("bob@example.com"),
        subject="Hi",
        text="Hello",
        metadata={"qj_contact_id": 8},
    )
    request = UnisenderGoSend().prepare([MESSAGE, second], CONFIG)
    assert (request.method, request.url) == (
        "POST",
        "http://go.test/en/transactional/api/v1/email/send.json",
    )
    assert request.headers["X-API-KEY"] == "k3y"
    assert json.loads(request.body) == {
        "message": {
            "recipients": [
                {
                    "email": "ann@example.com",
                    "metadata": {"qj_contact_id": "7", "campaign": "c1", "emailhook_id": "msg_1"},
                    "substitutions": {"to_name": "Ann"},
                },
                {
                    "email": "bob@example.com",
                    "metadata": {"qj_contact_id": "8", "emailhook_id": "msg_2"},
                },
            ],
            "from_email": "shop@example.com",
            "from_name": "Shop",
            "subject": "Hi",
            "body": {"html": "<p>Hello</p>", "plaintext": "Hello"},
            "reply_to": "help@example.com",
            "reply_to_name": "Help",
            "headers": {"X-Campaign": "june"},
            "attachments": [{"type": "text/plain", "name": "a.txt", "content": "aGk="}],
            "tags": ["dunning"],
            "track_read": 1,
            "track_links": 0,
        }
    }


def test_a_template_gets_each_recipients_substitutions() -> None:
    templated = OutgoingMessage(
        "msg_3",
        "shop@example.com",
        Recipient("cy@example.com", "Cy"),
        template_id="tpl-1",
        merge_data={"order": "42"},
    )
    message = json.loads(UnisenderGoSend().prepare([templated], CONFIG).body)["message"]
    assert message["template_id"] == "tpl-1"
    assert "body" not in message
    assert message["recipients"][0]["substitutions"] == {"order": "42", "to_name": "Cy"}


def test_failed_emails_are_decided_per_reason() -> None:
    messages = [
        _to("m_ok", "ok@example.com"),
        _to("m_unsub", "unsub@example.com"),
        _to("m_perm", "perm@example.com"),
        _to("m_temp", "temp@example.com"),
        _to("m_bad", "bad@example.com"),
        _to("m_dup1", "Dup@example.com"),
        _to("m_dup2", "dup@example.com"),
        _to("m_odd", "odd@example.com"),
    ]
    body = {
        "status": "success",
        "job_id": "1ZymBc-00041N-9X",
        "emails": ["ok@example.com", "dup@example.com"],
        "failed_emails": {
            "unsub@example.com": "unsubscribed",
            "perm@example.com": "permanent_unavailable",
            "temp@example.com": "temporary_unavailable",
            "bad@example.com": "invalid",
            "dup@example.com": "duplicate",
            "odd@example.com": "something_new",
        },
    }
    results = UnisenderGoSend().parse(HttpAnswer(200, {}, json.dumps(body).encode()), messages)
    assert [(r.public_id, r.outcome, r.provider_message_id, r.reason) for r in results] == [
        ("m_ok", Outcome.ACCEPTED, "1ZymBc-00041N-9X", None),
        ("m_unsub", Outcome.REJECTED, None, "failed_emails: unsubscribed"),
        ("m_perm", Outcome.REJECTED, None, "failed_emails: permanent_unavailable"),
        ("m_temp", Outcome.REJECTED, None, "failed_emails: temporary_unavailable"),
        ("m_bad", Outcome.REJECTED, None, "failed_emails: invalid"),
        ("m_dup1", Outcome.ACCEPTED, "1ZymBc-00041N-9X", None),
        (
            "m_dup2",
            Outcome.RETRY,
            None,
            "failed_emails: duplicate (the address was sent once in this call)",
        ),
        ("m_odd", Outcome.FAILED, None, "failed_emails: something_new"),
    ]


def test_an_unreadable_200_or_a_missing_address_is_uncertain() -> None:
    side = UnisenderGoSend()
    assert side.parse(HttpAnswer(200, {}, b"<html>"), [MESSAGE])[0].outcome is Outcome.UNKNOWN
    body = json.dumps({"status": "success", "job_id": "j", "emails": []}).encode()
    assert side.parse(HttpAnswer(200, {}, body), [MESSAGE])[0].outcome is Outcome.UNKNOWN


def test_throttling_retries_a_5xx_is_uncertain_a_refusal_fails_with_its_words() -> None:
    side = UnisenderGoSend()
    [retry] = side.parse(HttpAnswer(429, {"retry-after": "7"}, b""), [MESSAGE])
    assert (retry.outcome, retry.retry_after) == (Outcome.RETRY, 7.0)
    assert side.parse(HttpAnswer(503, {}, b""), [MESSAGE])[0].outcome is Outcome.UNKNOWN
    error = json.dumps({"status": "error", "message": "Invalid API key", "code": 102}).encode()
    [refused] = side.parse(HttpAnswer(401, {}, error), [MESSAGE])
    assert (refused.outcome, refused.reason) == (Outcome.FAILED, "HTTP 401: 102: Invalid API key")


def test_what_unisender_go_cannot_carry_is_named() -> None:
    side = UnisenderGoSend()
    assert side.check(MESSAGE) is None
    nine = OutgoingMessage(
        "m", "a@example.com", Recipient("b@example.com"), metadata={f"k{n}": n for n in range(9)}
    )
    ten = OutgoingMessage(
        "m", "a@example.com", Recipient("b@example.com"), metadata={f"k{n}": n for n in range(10)}
    )
    two = OutgoingMessage(
        "m", "a@example.com", Recipient("b@example.com"), reply_to=("x@e.com", "y@e.com")
    )
    assert side.check(nine) is None
    assert "at most 9 of yours" in (side.check(ten) or "")
    assert side.check(two) == "Unisender Go takes one reply_to address"


def test_messages_share_a_call_only_with_the_same_content() -> None:
    side = UnisenderGoSend()
    assert side.request_key(_to("a", "a@example.com")) == side.request_key(_to("b", "b@e.com"))
    other = OutgoingMessage("c", "shop@example.com", Recipient("c@example.com"), text="u")
    assert side.request_key(other) != side.request_key(_to("a", "a@example.com"))
    assert side.max_batch == 500


def test_configured_by_the_webhook_sides_api_keys() -> None:
    assert UnisenderGoSend.configure({"api_keys": ()}) is None
    configured = UnisenderGoSend.configure(
        {"api_keys": ("k1", "k0"), "api_url": None, "send_rate": 4.0}
    )
    assert configured is not None
    config, rate = configured
    assert (config.api_url, config.api_key, rate) == (
        "https://go1.unisender.ru/ru/transactional/api/v1",
        "k1",
        4.0,
    )
