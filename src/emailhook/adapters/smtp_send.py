"""Provider calls of the send pipeline over SMTP (smtplib): one session per request, one
message per recipient in it, and each message's fate sorted by what the relay can have seen.

A message is the relay's only once it answered the end of its data (RFC 5321 §4.1.1.4): no
answer *there* (a timeout, a dropped connection) leaves it uncertain; no answer anywhere before
it leaves it certainly not sent. After a lost or timed-out connection smtplib's state cannot be
trusted (a late reply would be read as the next command's), so the session ends there and the
messages after it are not tried (retried later).
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import socket
import ssl
from collections.abc import Callable, Sequence
from datetime import datetime

from emailhook.domain.clock import utcnow
from emailhook.domain.sending.message import OutgoingMessage
from emailhook.providers.sending import Outcome, RecipientResult, SendConfig
from emailhook.providers.smtp.send import Envelope, Relay, Reply, Stage, envelope, relay_of, result

#: a line that begins with a dot gets one more (RFC 5321 §4.5.2)
_LEADING_DOT = re.compile(rb"(?m)^\.")


class _SessionError(Exception):
    """The session cannot go on: ``reply`` says why."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.text)
        self.reply = reply


class SmtpSender:
    """Sends through the relay a config names; ``timeout`` bounds each read and write.
    ``context`` verifies the relay's certificate (default: the system's CAs, which
    ``SSL_CERT_FILE`` may replace)."""

    def __init__(
        self,
        timeout: float,
        context: ssl.SSLContext | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.timeout = timeout
        self._context = context
        self._clock = clock

    def __call__(
        self, messages: Sequence[OutgoingMessage], config: SendConfig
    ) -> list[RecipientResult]:
        """Return one result per message (never raises for a message's fate)."""
        built: list[Envelope] = []
        results: dict[str, RecipientResult] = {}
        now = self._clock()
        for message in messages:
            try:
                built.append(envelope(message, now))
            except ValueError as error:
                results[message.public_id] = RecipientResult(
                    message.public_id, Outcome.FAILED, reason=str(error)
                )
        if built:
            for sent, reply in self._session(relay_of(config), built):
                results[sent.public_id] = result(sent, reply)
        return [results[m.public_id] for m in messages]

    def _session(self, relay: Relay, built: list[Envelope]) -> list[tuple[Envelope, Reply]]:
        replies: list[tuple[Envelope, Reply]] = []
        try:
            client = self._open(relay)
        except _SessionError as stop:
            return [(sent, stop.reply) for sent in built]
        try:
            for index, sent in enumerate(built):
                reply = _transaction(client, sent)
                replies.append((sent, reply))
                if reply.code is None or reply.code == 421:  # the session is gone
                    untried = Reply(Stage.SESSION, None, f"not tried: {reply.text}")
                    replies += [(later, untried) for later in built[index + 1 :]]
                    return replies
            # every message has its reply: a QUIT unanswered changes nothing
            with contextlib.suppress(smtplib.SMTPException, OSError):
                client.quit()
            return replies
        finally:
            client.close()

    def _open(self, relay: Relay) -> smtplib.SMTP:
        """Return a session ready for MAIL FROM: connected, TLS, authenticated."""
        client: smtplib.SMTP | None = None
        helo = socket.gethostname() or "localhost"  # not getfqdn: no DNS lookup per session
        try:
            if relay.implicit_tls:
                client = smtplib.SMTP_SSL(
                    relay.host, relay.port, helo, timeout=self.timeout, context=self.context
                )
            else:
                client = smtplib.SMTP(relay.host, relay.port, helo, timeout=self.timeout)
            client.ehlo_or_helo_if_needed()
            tls = relay.implicit_tls
            if not tls and client.has_extn("starttls"):
                client.starttls(context=self.context)
                client.ehlo()
                tls = True
            if relay.username:
                if not tls:  # RFC 3207 §4's 530: no password in clear text
                    raise _SessionError(Reply(Stage.SESSION, 530, "no STARTTLS: the password kept"))
                client.login(relay.username, relay.password or "")
            return client
        except _SessionError:
            _close(client)
            raise
        except smtplib.SMTPNotSupportedError as error:
            _close(client)
            raise _SessionError(Reply(Stage.SESSION, 504, str(error))) from error
        except smtplib.SMTPResponseException as error:
            _close(client)
            raise _SessionError(
                Reply(Stage.SESSION, error.smtp_code, _text(error.smtp_error))
            ) from error
        except (smtplib.SMTPException, OSError) as error:  # refused, unreachable, TLS, timeout
            _close(client)
            raise _SessionError(
                Reply(Stage.SESSION, None, f"{type(error).__name__}: {error}")
            ) from error

    @property
    def context(self) -> ssl.SSLContext:
        if self._context is None:
            self._context = ssl.create_default_context()
        return self._context

    def close(self) -> None:
        """Nothing to close: each request opens and closes its own session."""


def _transaction(client: smtplib.SMTP, sent: Envelope) -> Reply:
    """Send one message: MAIL FROM, RCPT TO, DATA; return the reply of the step it ended at."""
    stage = Stage.MAIL
    try:
        code, text = client.mail(sent.mail_from)
        if code != 250:
            return _reset(client, Reply(stage, code, _text(text)))
        stage = Stage.RCPT
        code, text = client.rcpt(sent.rcpt_to)
        if code not in (250, 251):
            return _reset(client, Reply(stage, code, _text(text)))
        stage = Stage.DATA
        client.putcmd("data")
        code, text = client.getreply()
        if code != 354:
            return _reset(client, Reply(stage, code, _text(text)))
        data = _LEADING_DOT.sub(b"..", sent.data)
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        client.send(data + b".\r\n")
        stage = Stage.END
        code, text = client.getreply()
    except (smtplib.SMTPException, OSError) as error:  # lost, or timed out, at ``stage``
        return Reply(stage, None, f"{type(error).__name__}: {error}")
    if not 200 <= code < 300:
        return _reset(client, Reply(stage, code, _text(text)))
    return Reply(stage, code, _text(text))


def _reset(client: smtplib.SMTP, reply: Reply) -> Reply:
    """End the transaction a refusal left open (RSET), so the next message starts clean."""
    if reply.code == 421:  # the relay is closing the session
        return reply
    try:
        client.rset()
    except (smtplib.SMTPException, OSError) as error:
        # the session is gone: report it as such, so that no later message is tried in it
        return Reply(reply.stage, reply.code, f"{reply.text} (then {type(error).__name__})")
    return reply


def _close(client: smtplib.SMTP | None) -> None:
    if client is not None:
        client.close()


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
