"""SMTP's send side, pure: the relay URL, the message field by field, each reply's meaning."""

from __future__ import annotations

import base64
import email.parser
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from emailhook.domain.sending.message import Attachment, OutgoingMessage, Recipient
from emailhook.providers.sending import Outcome
from emailhook.providers.smtp.send import (
    Envelope,
    Reply,
    SmtpSend,
    Stage,
    envelope,
    relay_config,
    relay_of,
    result,
)

AT = datetime(2026, 12, 6, 21, 0, tzinfo=UTC)
MESSAGE = OutgoingMessage(
    public_id="msg_1",
    from_email="Shöp <shop@example.com>",
    to=Recipient("ann@example.com", "Ann Ö"),
    subject="Grüße",
    text="Hello\n.a line with a dot\n",
    html="<p>Hello</p>",
    reply_to=("help@example.com",),
    headers={"X-Campaign": "june"},
    attachments=(Attachment("a.txt", base64.b64encode(b"hi there").decode(), "text/plain"),),
    metadata={"qj_contact_id": 7},
)


def _parsed(data: bytes) -> EmailMessage:
    parsed = email.parser.BytesParser(policy=email.policy.default).parsebytes(data)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_the_message_carries_our_id_in_its_message_id_and_a_header() -> None:
    sent = envelope(MESSAGE, AT)
    assert (sent.public_id, sent.mail_from, sent.rcpt_to) == (
        "msg_1",
        "shop@example.com",
        "ann@example.com",
    )
    assert sent.message_id == "<msg_1@example.com>"
    assert all(byte < 128 for byte in sent.data)  # 7-bit: no 8BITMIME or SMTPUTF8 needed
    assert b"\r\n" in sent.data
    assert b"\n" not in sent.data.replace(b"\r\n", b"")
    mail = _parsed(sent.data)
    assert mail["Message-ID"] == "<msg_1@example.com>"
    assert mail["X-Emailhook-Id"] == "msg_1"
    assert mail["From"] == "Shöp <shop@example.com>"
    assert mail["To"] == "Ann Ö <ann@example.com>"
    assert mail["Subject"] == "Grüße"
    assert mail["Reply-To"] == "help@example.com"
    assert mail["X-Campaign"] == "june"
    assert mail["Date"] == "Sun, 06 Dec 2026 21:00:00 +0000"
    assert "qj_contact_id" not in sent.data.decode()  # metadata stays with us
    text = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert text is not None
    assert html is not None
    assert text.get_content().replace("\r\n", "\n") == "Hello\n.a line with a dot\n"
    assert html.get_content().strip() == "<p>Hello</p>"
    [attached] = list(mail.iter_attachments())
    assert (attached.get_filename(), attached.get_content_type()) == ("a.txt", "text/plain")
    assert attached.get_content() == "hi there"


def test_an_html_only_message_is_html_and_a_broken_attachment_is_refused() -> None:
    html_only = OutgoingMessage("m", "a@example.com", Recipient("b@example.com"), html="<b>x</b>")
    mail = _parsed(envelope(html_only, AT).data)
    assert mail.get_content_type() == "text/html"
    broken = OutgoingMessage(
        "m", "a@example.com", Recipient("b@example.com"), attachments=(Attachment("x", "!!"),)
    )
    with pytest.raises(ValueError, match="not base64"):
        envelope(broken, AT)


SENT = Envelope("msg_1", "shop@example.com", "ann@example.com", b"", "<msg_1@example.com>")


@pytest.mark.parametrize(
    ("reply", "outcome"),
    [
        (Reply(Stage.END, 250, "2.0.0 Ok: queued as ABC"), Outcome.ACCEPTED),
        (Reply(Stage.END, None, "TimeoutError: timed out"), Outcome.UNKNOWN),
        (Reply(Stage.END, 354, "odd"), Outcome.UNKNOWN),
        (Reply(Stage.SESSION, None, "ConnectionRefusedError"), Outcome.RETRY),
        (Reply(Stage.DATA, None, "SMTPServerDisconnected"), Outcome.RETRY),
        (Reply(Stage.RCPT, 451, "4.3.0 Try again later"), Outcome.RETRY),
        (Reply(Stage.END, 452, "4.3.1 Insufficient storage"), Outcome.RETRY),
        (Reply(Stage.SESSION, 421, "4.3.2 Shutting down"), Outcome.RETRY),
        (Reply(Stage.RCPT, 550, "5.1.1 Recipient address rejected"), Outcome.REJECTED),
        (Reply(Stage.MAIL, 553, "5.7.1 Sender not allowed"), Outcome.FAILED),
        (Reply(Stage.END, 554, "5.6.0 Message refused"), Outcome.FAILED),
        (Reply(Stage.SESSION, 535, "5.7.8 Authentication failed"), Outcome.FAILED),
    ],
)
def test_each_reply_means_one_outcome(reply: Reply, outcome: Outcome) -> None:
    found = result(SENT, reply)
    assert found.outcome is outcome
    if outcome is Outcome.ACCEPTED:
        assert found.provider_message_id == "<msg_1@example.com>"
    else:
        assert found.reason is not None
        assert found.reason.startswith(f"SMTP {reply.stage}")


def test_a_refused_recipient_names_the_relays_reply() -> None:
    refused = result(SENT, Reply(Stage.RCPT, 550, "5.1.1 Recipient address rejected"))
    assert refused.reason == "SMTP rcpt: 550 5.1.1 Recipient address rejected"


def test_the_relay_url_is_read_without_keeping_the_password_in_it() -> None:
    config = relay_config("smtp://us%40er:p%3Ass@relay.example.com")
    assert config.api_url == "smtp://relay.example.com:587"
    assert (config.api_key, config.extra["username"]) == ("p:ss", "us@er")
    relay = relay_of(config)
    assert (relay.host, relay.port, relay.implicit_tls) == ("relay.example.com", 587, False)
    assert (relay.username, relay.password) == ("us@er", "p:ss")
    implicit = relay_of(relay_config("smtps://relay.example.com"))
    assert (implicit.port, implicit.implicit_tls, implicit.username) == (465, True, None)
    with pytest.raises(ValueError, match="smtp:// or smtps://"):
        relay_config("http://relay.example.com")


def test_smtp_carries_no_tags_tracking_or_templates() -> None:
    side = SmtpSend()
    assert side.features == frozenset({"attachments", "metadata", "headers"})
    assert side.check(MESSAGE) is None
    assert side.check(OutgoingMessage("m", "nobody", Recipient("b@example.com"))) is not None
