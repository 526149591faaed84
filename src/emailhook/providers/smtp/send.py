"""SMTP's send side, pure: the relay's URL read, each message built, each reply classified.

The I/O (``adapters/smtp_send.py``, smtplib) sends one message per recipient, in one session
per request, and reports where each message got to (:class:`Reply`); this module says what
that means (:func:`result`). Sources: RFC 5321 (reply codes: 2xx done, 4xx transient, 5xx
permanent; §4.1.1.4, the message is the server's only once it answered the end of its data),
RFC 3207 (STARTTLS), RFC 8314 (implicit TLS, ``smtps://``), RFC 4954 (AUTH).

Our id travels as the ``Message-ID`` we make (``<public_id@sender's domain>``, recorded as the
provider's message id: bounces and relays that report quote it) and as ``X-Emailhook-Id``.
A relay has no logs to ask and no idempotency key: a message whose end of data got no answer
(a timeout, a dropped connection) may have been taken, and is never sent again (``NONE``).
Tags, tracking and templates are a provider's, not SMTP's: refused on accept. Metadata stays
with our message (the outbox, ``GET /messages``) and is not written into the e-mail, whose
headers the recipient sees.
"""

from __future__ import annotations

import base64
import binascii
import enum
import re
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from urllib.parse import unquote, urlsplit

from emailhook.domain.sending.message import OutgoingMessage
from emailhook.domain.sending.retries import Resolution
from emailhook.domain.vocabulary import BounceClass, RejectReason
from emailhook.providers.sending import Outcome, RecipientResult, SendConfig

NAME = "smtp"
#: the header that carries our id (``X-Emailhook-Id``), beside the Message-ID
ID_HEADER = "X-Emailhook-Id"
#: plain 7-bit output with CRLF: quoted-printable or base64 bodies, RFC 2047 headers, so no
#: relay needs 8BITMIME or SMTPUTF8
POLICY = SMTP.clone(cte_type="7bit")
PORTS = {"smtp": 587, "smtps": 465}


#: RFC 3463 enhanced codes of an address that does not exist: bad mailbox (5.1.1), bad
#: system (5.1.2), a domain that takes no mail (5.1.10, RFC 7505's null MX). Refused at RCPT
#: TO, they are a hard bounce; other refusals (a policy, relaying denied) suppress nothing.
NO_SUCH_ADDRESS = re.compile(r"5\.1\.(1|2|10)\b")


class Stage(enum.StrEnum):
    """How far a message got in the SMTP dialogue."""

    SESSION = "session"  #: connect, greeting, EHLO, STARTTLS, AUTH: no message yet
    MAIL = "mail"  #: MAIL FROM
    RCPT = "rcpt"  #: RCPT TO
    DATA = "data"  #: DATA, and the message's bytes until its end marker
    END = "end"  #: the end of the data written: the reply says whether the relay took it


@dataclass(frozen=True, slots=True)
class Reply:
    """What the relay said at ``stage``: its code and text, or no code (no answer: refused or
    lost connection, a timeout)."""

    stage: Stage
    code: int | None
    text: str


@dataclass(frozen=True, slots=True)
class Envelope:
    """One message as SMTP carries it."""

    public_id: str
    mail_from: str
    rcpt_to: str
    #: the message, 7-bit, CRLF line ends (not yet dot-stuffed: that is the transport's)
    data: bytes
    message_id: str


@dataclass(frozen=True, slots=True)
class Relay:
    """Where the relay is and how to reach it, read from ``EMAILHOOK_SMTP_URL``."""

    host: str
    port: int
    #: ``smtps``: TLS from the first byte; ``smtp``: STARTTLS when the relay offers it
    implicit_tls: bool
    username: str | None
    password: str | None


def relay_config(url: str) -> SendConfig:
    """Return the send config of ``smtp://user:pass@host:587`` (or ``smtps://``): the URL
    without its credentials, the password as the key, the user name in ``extra``. Raises
    ValueError for another scheme or no host."""
    parts = urlsplit(url)
    if parts.scheme not in PORTS:
        raise ValueError("EMAILHOOK_SMTP_URL must start with smtp:// or smtps://")
    try:
        port = parts.port or PORTS[parts.scheme]
    except ValueError as error:
        raise ValueError("EMAILHOOK_SMTP_URL has an invalid port") from error
    if not parts.hostname:
        raise ValueError("EMAILHOOK_SMTP_URL names no host")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    username = unquote(parts.username) if parts.username else ""
    return SendConfig(
        f"{parts.scheme}://{host}:{port}",
        unquote(parts.password) if parts.password else "",
        extra={"username": username},
    )


def relay_of(config: SendConfig) -> Relay:
    """Return the relay a config made by :func:`relay_config` names."""
    parts = urlsplit(config.api_url)
    return Relay(
        parts.hostname or "",
        parts.port or PORTS[parts.scheme],
        parts.scheme == "smtps",
        config.extra.get("username") or None,
        config.api_key or None,
    )


class SmtpSend:
    """SMTP through any relay (``SendRules``; its transport is ``adapters.smtp_send``)."""

    name = NAME
    #: messages one session sends, one after the other
    max_batch = 50
    resolution = Resolution.NONE
    features = frozenset({"attachments", "metadata", "headers"})

    def request_key(self, message: OutgoingMessage) -> Hashable:
        return None  # every message is its own transaction

    def check(self, message: OutgoingMessage) -> str | None:
        if not message.from_email or "@" not in parseaddr(message.from_email)[1]:
            return "SMTP needs a sender address"
        return None


def envelope(message: OutgoingMessage, at: datetime) -> Envelope:
    """Return ``message`` as SMTP carries it, dated ``at``. Raises ValueError for what cannot
    be written (an attachment that is not base64, an address that is not ASCII)."""
    sender = parseaddr(message.from_email)[1]
    message_id = f"<{message.public_id}@{sender.rpartition('@')[2] or 'emailhook.invalid'}>"
    mail = EmailMessage(policy=POLICY)
    mail["From"] = message.from_email
    mail["To"] = Address(message.to.name or "", addr_spec=message.to.email)
    mail["Subject"] = message.subject or ""
    mail["Date"] = format_datetime(at)
    mail["Message-ID"] = message_id
    mail[ID_HEADER] = message.public_id
    if message.reply_to:
        mail["Reply-To"] = ", ".join(message.reply_to)
    for name, value in message.headers.items():
        mail[name] = value
    if message.text is not None or message.html is None:
        mail.set_content(message.text or "")
        if message.html is not None:
            mail.add_alternative(message.html, subtype="html")
    else:
        mail.set_content(message.html, subtype="html")
    for attachment in message.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        mail.add_attachment(
            _decoded(attachment.content, attachment.filename),
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=attachment.filename,
        )
    try:
        data = mail.as_bytes()
    except (UnicodeError, ValueError) as error:
        raise ValueError(f"the message cannot be written for SMTP: {error}") from error
    return Envelope(message.public_id, sender, message.to.email, data, message_id)


def result(sent: Envelope, reply: Reply) -> RecipientResult:
    """Return what ``reply`` means for the message: 2xx to its end of data accepted; no answer
    to it uncertain; 4xx anywhere, or no answer before it, retried (the relay has nothing);
    5xx to RCPT TO a refused recipient; any other 5xx a failure."""
    public_id = sent.public_id
    words = f"SMTP {reply.stage.value}: " + (
        f"{reply.code} {reply.text}".strip() if reply.code else reply.text or "no answer"
    )
    if reply.code is None:
        if reply.stage is Stage.END:
            return RecipientResult(public_id, Outcome.UNKNOWN, reason=words)
        return RecipientResult(public_id, Outcome.RETRY, reason=words)
    if 200 <= reply.code < 300 and reply.stage is Stage.END:
        return RecipientResult(public_id, Outcome.ACCEPTED, sent.message_id)
    if 400 <= reply.code < 500:
        return RecipientResult(public_id, Outcome.RETRY, reason=words)
    if 500 <= reply.code < 600 and reply.stage is Stage.RCPT:
        if NO_SUCH_ADDRESS.match(reply.text):  # the address does not exist: a hard bounce
            return RecipientResult(
                public_id, Outcome.REJECTED, reason=words, bounce_class=BounceClass.HARD
            )
        return RecipientResult(
            public_id, Outcome.REJECTED, reason=words, reject_reason=RejectReason.OTHER
        )
    if 500 <= reply.code < 600:
        return RecipientResult(public_id, Outcome.FAILED, reason=words)
    # a reply SMTP does not define: after the end of data the relay may have it
    if reply.stage is Stage.END:
        return RecipientResult(public_id, Outcome.UNKNOWN, reason=words)
    return RecipientResult(public_id, Outcome.RETRY, reason=words)


def _decoded(content: str, filename: str) -> bytes:
    try:
        return base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError) as error:  # validated on accept: a broken outbox row
        raise ValueError(f"attachment {filename!r} is not base64") from error
