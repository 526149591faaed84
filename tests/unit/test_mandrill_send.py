"""Mandrill's send side, field by field: the messages/send body and each recipient's result."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

from emailhook.adapters.store.held import Claimed
from emailhook.domain.sending.message import Attachment, OutgoingMessage, Recipient
from emailhook.providers.mandrill.send import MandrillSend
from emailhook.providers.sending import HttpAnswer, Outcome, SendConfig
from emailhook.service.send.dispatched import requests_of as _requests

CONFIG = SendConfig("http://md.test/api/1.0/", "md-key")
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
SECOND = replace(
    MESSAGE, public_id="msg_2", to=Recipient("bob@example.com"), metadata={"qj_contact_id": 8}
)


def test_one_call_gives_each_recipient_a_copy_and_our_id_in_recipient_metadata() -> None:
    request = MandrillSend().prepare([MESSAGE, SECOND], CONFIG)
    assert (request.method, request.url) == ("POST", "http://md.test/api/1.0/messages/send.json")
    assert "Authorization" not in request.headers
    body = json.loads(request.body)
    assert (body["key"], body["async"]) == ("md-key", False)
    assert body["message"] == {
        "from_email": "shop@example.com",
        "from_name": "Shop",
        "to": [
            {"email": "ann@example.com", "type": "to", "name": "Ann"},
            {"email": "bob@example.com", "type": "to"},
        ],
        "preserve_recipients": False,
        "subject": "Hi",
        "text": "Hello",
        "html": "<p>Hello</p>",
        "headers": {"X-Campaign": "june", "Reply-To": "help@example.com"},
        "tags": ["dunning"],
        "track_opens": True,
        "track_clicks": False,
        "attachments": [{"type": "text/plain", "name": "a.txt", "content": "aGk="}],
        "recipient_metadata": [
            {
                "rcpt": "ann@example.com",
                "values": {"qj_contact_id": "7", "campaign": "c1", "emailhook_id": "msg_1"},
            },
            {"rcpt": "bob@example.com", "values": {"qj_contact_id": "8", "emailhook_id": "msg_2"}},
        ],
    }


def test_each_recipient_is_read_by_its_address_refused_ones_rejected_with_the_reason() -> None:
    third = replace(MESSAGE, public_id="msg_3", to=Recipient("Bad@Example.c"))
    fourth = replace(MESSAGE, public_id="msg_4", to=Recipient("q@example.com"))
    body = json.dumps(
        [
            {"email": "q@example.com", "status": "queued", "_id": "md-4", "reject_reason": None},
            {"email": "bob@example.com", "status": "rejected", "reject_reason": "hard-bounce"},
            {"email": "bad@example.c", "status": "invalid", "reject_reason": None},
            {"email": "ann@example.com", "status": "sent", "_id": "md-1", "reject_reason": None},
        ]
    ).encode()
    results = MandrillSend().parse(HttpAnswer(200, {}, body), [MESSAGE, SECOND, third, fourth])
    assert [(r.public_id, r.outcome, r.provider_message_id, r.reason) for r in results] == [
        ("msg_1", Outcome.ACCEPTED, "md-1", None),
        ("msg_2", Outcome.REJECTED, None, "rejected: hard-bounce"),
        ("msg_3", Outcome.REJECTED, None, "invalid"),
        ("msg_4", Outcome.ACCEPTED, "md-4", None),
    ]
    missing = MandrillSend().parse(HttpAnswer(200, {}, b"[]"), [MESSAGE])
    assert missing[0].outcome is Outcome.UNKNOWN


def test_errors_are_told_by_their_name_not_by_the_status() -> None:
    side = MandrillSend()

    def error(status: int, name: str, message: str) -> HttpAnswer:
        body = {"status": "error", "code": -1, "name": name, "message": message}
        return HttpAnswer(status, {}, json.dumps(body).encode())

    [bad_key] = side.parse(error(500, "Invalid_Key", "Invalid API key"), [MESSAGE])
    assert (bad_key.outcome, bad_key.reason) == (
        Outcome.FAILED,
        "HTTP 500 Invalid_Key: Invalid API key",
    )
    invalid = side.parse(error(500, "ValidationError", "You must specify a key value"), [MESSAGE])
    assert invalid[0].outcome is Outcome.FAILED
    assert side.parse(error(500, "GeneralError", "oops"), [MESSAGE])[0].outcome is Outcome.UNKNOWN
    assert side.parse(HttpAnswer(502, {}, b"<html>"), [MESSAGE])[0].outcome is Outcome.UNKNOWN
    throttled = side.parse(
        HttpAnswer(429, {"retry-after": "2"}, error(429, "GeneralError", "slow").body), [MESSAGE]
    )
    assert [(r.outcome, r.retry_after) for r in throttled] == [(Outcome.RETRY, 2.0)]
    assert side.parse(HttpAnswer(200, {}, b"{}"), [MESSAGE])[0].outcome is Outcome.UNKNOWN


def test_calls_hold_ten_alike_messages_at_most() -> None:
    at = datetime(2026, 12, 6, tzinfo=UTC)
    items = [
        Claimed(
            replace(MESSAGE, public_id=f"m{n}", to=Recipient(f"r{n}@example.com")),
            "mandrill",
            False,
            0,
            None,
            at,
        )
        for n in range(25)
    ]
    other = Claimed(
        replace(MESSAGE, public_id="x", subject="Other"), "mandrill", False, 0, None, at
    )
    sizes = [len(r) for r in _requests(MandrillSend(), [*items, other])]
    assert sizes == [10, 10, 5, 1]


def test_what_mandrill_cannot_carry_is_named() -> None:
    side = MandrillSend()
    assert "template_id" not in side.features
    assert side.check(MESSAGE) is None
    assert "may not begin with '_'" in (side.check(replace(MESSAGE, tags=("_x",))) or "")
    assert "50 characters" in (side.check(replace(MESSAGE, tags=("t" * 51,))) or "")


def test_configured_only_with_a_key() -> None:
    assert MandrillSend.configure({"api_key": ()}) is None
    configured = MandrillSend.configure(
        {"api_key": ("k1", "k0"), "api_url": None, "send_rate": 3.0}
    )
    assert configured is not None
    config, rate = configured
    assert (config.api_url, config.api_key, rate) == ("https://mandrillapp.com/api/1.0", "k1", 3.0)
