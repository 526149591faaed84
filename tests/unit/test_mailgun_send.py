"""Mailgun's send side, field by field: the batch form, its files, and the call's result."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qsl

from emailhook.adapters.store.held import Claimed
from emailhook.domain.sending.message import Attachment, OutgoingMessage, Recipient
from emailhook.providers.mailgun.send import MailgunSend
from emailhook.providers.sending import HttpAnswer, Outcome, SendConfig
from emailhook.service.send.dispatched import requests_of as _requests

CONFIG = SendConfig("http://mg.test/", "key-1", extra={"domain": "mg.example.com"})
MESSAGE = OutgoingMessage(
    public_id="msg_1",
    from_email="Shop <shop@example.com>",
    to=Recipient("ann@example.com", "Ann"),
    subject="Hi",
    text="Hello",
    html="<p>Hello</p>",
    reply_to=("help@example.com",),
    headers={"X-Campaign": "june"},
    tags=("dunning", "june"),
    metadata={"qj_contact_id": 7, "campaign": "c1"},
    track_opens=True,
    track_clicks=False,
)
SECOND = replace(
    MESSAGE,
    public_id="msg_2",
    to=Recipient("bob@example.com"),
    metadata={"qj_contact_id": 8, "campaign": "c1"},
)


def test_one_batch_carries_each_recipients_id_and_metadata_in_recipient_variables() -> None:
    request = MailgunSend().prepare([MESSAGE, SECOND], CONFIG)
    assert (request.method, request.url) == ("POST", "http://mg.test/v3/mg.example.com/messages")
    token = base64.b64encode(b"api:key-1").decode()
    assert request.headers["Authorization"] == f"Basic {token}"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    fields = parse_qsl(request.body.decode(), keep_blank_values=True)
    variables = json.loads(dict(fields).pop("recipient-variables"))
    assert [f for f in fields if f[0] != "recipient-variables"] == [
        ("from", "Shop <shop@example.com>"),
        ("to", '"Ann" <ann@example.com>'),
        ("to", "bob@example.com"),
        ("subject", "Hi"),
        ("text", "Hello"),
        ("html", "<p>Hello</p>"),
        ("h:Reply-To", "help@example.com"),
        ("h:X-Campaign", "june"),
        ("o:tag", "dunning"),
        ("o:tag", "june"),
        ("o:tracking-opens", "yes"),
        ("o:tracking-clicks", "no"),
        ("v:qj_contact_id", "%recipient.qj_contact_id%"),
        ("v:campaign", "%recipient.campaign%"),
        ("v:emailhook_id", "%recipient.emailhook_id%"),
    ]
    assert variables == {
        "ann@example.com": {"qj_contact_id": "7", "campaign": "c1", "emailhook_id": "msg_1"},
        "bob@example.com": {"qj_contact_id": "8", "campaign": "c1", "emailhook_id": "msg_2"},
    }


def test_only_messages_alike_but_for_recipient_and_metadata_values_share_a_batch() -> None:
    side = MailgunSend()
    assert side.request_key(MESSAGE) == side.request_key(SECOND)
    other_subject = OutgoingMessage("m", "shop@example.com", Recipient("c@example.com"), "Yo")
    more_names = OutgoingMessage(
        "m", "shop@example.com", Recipient("c@example.com"), "Yo", metadata={"extra": 1}
    )
    assert side.request_key(MESSAGE) != side.request_key(other_subject)
    assert side.request_key(other_subject) != side.request_key(more_names)


def test_attachments_go_as_files_of_a_multipart_form() -> None:
    with_file = OutgoingMessage(
        "msg_3",
        "shop@example.com",
        Recipient("ann@example.com"),
        "Hi",
        text="see attached",
        attachments=(Attachment("a.txt", base64.b64encode(b"hi there").decode(), "text/plain"),),
    )
    request = MailgunSend().prepare([with_file], CONFIG)
    content_type = request.headers["Content-Type"]
    assert content_type.startswith("multipart/form-data; boundary=")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    parts = list(BytesParser(policy=HTTP).parsebytes(head + request.body).iter_parts())
    names = [p.get_param("name", header="content-disposition") for p in parts]
    assert names == ["from", "to", "subject", "text", "v:emailhook_id", "recipient-variables",
                     "attachment"]  # fmt: skip
    file = parts[-1]
    assert (file.get_filename(), file.get_content_type()) == ("a.txt", "text/plain")
    assert file.get_payload(decode=True) == b"hi there"


def test_the_calls_one_id_is_every_messages_and_failures_are_classified() -> None:
    side = MailgunSend()
    ok = json.dumps({"id": "<2026.abc@mg.example.com>", "message": "Queued. Thank you."})
    results = side.parse(HttpAnswer(200, {}, ok.encode()), [MESSAGE, SECOND])
    assert [(r.public_id, r.outcome, r.provider_message_id) for r in results] == [
        ("msg_1", Outcome.ACCEPTED, "<2026.abc@mg.example.com>"),
        ("msg_2", Outcome.ACCEPTED, "<2026.abc@mg.example.com>"),
    ]
    throttled = side.parse(HttpAnswer(429, {"retry-after": "3"}, b'{"message": "slow"}'), [MESSAGE])
    assert (throttled[0].outcome, throttled[0].retry_after) == (Outcome.RETRY, 3.0)
    assert side.parse(HttpAnswer(502, {}, b"bad gateway"), [MESSAGE])[0].outcome is Outcome.UNKNOWN
    [refused] = side.parse(HttpAnswer(401, {}, b"Forbidden"), [MESSAGE])
    assert (refused.outcome, refused.reason) == (Outcome.FAILED, "HTTP 401: Forbidden")
    [bad] = side.parse(
        HttpAnswer(400, {}, b'{"message": "\'to\' parameter is missing"}'), [MESSAGE]
    )
    assert bad.reason == "HTTP 400: 'to' parameter is missing"
    assert side.parse(HttpAnswer(200, {}, b"{}"), [MESSAGE])[0].outcome is Outcome.UNKNOWN


def test_what_mailgun_cannot_carry_is_named() -> None:
    side = MailgunSend()
    four_tags = OutgoingMessage(
        "m", "a@example.com", Recipient("b@example.com"), tags=tuple("abcd")
    )
    odd_name = OutgoingMessage("m", "a@example.com", Recipient("b@example.com"), metadata={"a%": 1})
    assert side.check(MESSAGE) is None
    assert side.check(four_tags) == "Mailgun takes at most 3 tags a message"
    assert "'%'" in (side.check(odd_name) or "")


def test_configured_only_with_a_key_and_a_domain() -> None:
    assert MailgunSend.configure({"api_key": ("k",), "domain": None}) is None
    assert MailgunSend.configure({"api_key": (), "domain": "mg.example.com"}) is None
    configured = MailgunSend.configure(
        {"api_key": ("k1", "k0"), "domain": "mg.example.com", "api_url": None, "send_rate": 5.0}
    )
    assert configured is not None
    config, rate = configured
    assert (config.api_url, config.api_key, rate) == ("https://api.mailgun.net", "k1", 5.0)
    assert config.extra["domain"] == "mg.example.com"


def test_a_batch_never_holds_two_messages_to_one_address() -> None:
    at = datetime(2026, 12, 6, tzinfo=UTC)
    addresses = ["a@x.org", "b@x.org", "A@x.org", "c@x.org", "a@x.org", "d@x.org"]
    items = [
        Claimed(replace(MESSAGE, public_id=f"m{n}", to=Recipient(a)), "mailgun", False, 0, None, at)
        for n, a in enumerate(addresses)
    ]
    side = MailgunSend()
    side.max_batch = 3  # type: ignore[misc]
    batches = [[i.message.public_id for i in batch] for batch in _requests(side, items)]
    assert batches == [["m0", "m1", "m3"], ["m2", "m5"], ["m4"]]
