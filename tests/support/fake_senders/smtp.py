"""A real SMTP server on 127.0.0.1 (aiosmtpd): STARTTLS or implicit TLS, AUTH PLAIN/LOGIN,
every message kept whole, and faults on demand.

    with FakeSMTP(make_certificate(tmp_path), tls="starttls") as smtp:
        url = smtp.url                     # smtp://user:secret@127.0.0.1:<port>
        smtp.refuse("gone@example.com")    # 550 at RCPT TO
        smtp.defer("busy@example.com")     # 451 at RCPT TO
        smtp.drop("after_data")            # message kept, connection closed before the 250
        ...
        smtp.messages[0].message["Subject"]; smtp.ledger.assert_once("X-Emailhook-Id")

Sources: RFC 5321 (reply codes: 250, 354, 451 4.x.x transient, 550 5.x.x permanent, 530/535
for AUTH), RFC 3207 (STARTTLS), RFC 8314 (implicit TLS on its own port), RFC 4954 and RFC 4616
(AUTH, PLAIN) and aiosmtpd's documentation (its ``Controller``, handler hooks, ``authenticator``
returning ``AuthResult``; AUTH refused before TLS unless ``auth_require_tls`` is off).
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import secrets
import threading
from collections import deque
from dataclasses import dataclass, field
from email.message import EmailMessage
from types import TracebackType
from typing import Any, Literal, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from support.fake_senders.ledger import Accepted, Ledger, merged_echo
from support.fake_senders.tls import Certificate
from support.stack import free_port

TLSMode = Literal["starttls", "implicit", "none"]
DropAt = Literal["mail", "rcpt", "data", "after_data"]


@dataclass(frozen=True)
class Received:
    """One message the server accepted with 250."""

    queue_id: str
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    message: EmailMessage  # parsed: headers, body, parts
    login: str | None
    tls: bool


@dataclass
class _State:
    refused: dict[str, str] = field(default_factory=dict)  # address -> 550 reply
    deferred: dict[str | None, str] = field(default_factory=dict)  # address (None: DATA) -> 451
    drops: deque[DropAt] = field(default_factory=deque)


class FakeSMTP:
    """An SMTP relay; ``users`` may log in (AUTH PLAIN or LOGIN), required unless ``None``."""

    def __init__(
        self,
        certificate: Certificate | None = None,
        *,
        tls: TLSMode = "starttls",
        users: dict[str, str] | None = None,
    ) -> None:
        if tls != "none" and certificate is None:
            raise ValueError("STARTTLS and implicit TLS need a certificate")
        if tls == "none" and users:
            raise ValueError("AUTH is offered only over TLS (aiosmtpd's auth_require_tls)")
        self.users = ({} if tls == "none" else {"user": "secret"}) if users is None else users
        self.tls = tls
        self.messages: list[Received] = []
        self.ledger = Ledger()
        #: every AUTH attempt: (login, succeeded)
        self.logins: list[tuple[str, bool]] = []
        self.lock = threading.Lock()
        self._state = _State()
        self.port = free_port()
        context = certificate.server_context() if certificate else None
        self._controller = _Controller(
            _Handler(self),
            hostname="127.0.0.1",
            port=self.port,
            ssl_context=context if tls == "implicit" else None,
            tls_context=context if tls == "starttls" else None,
            require_starttls=tls == "starttls",
            authenticator=self._authenticate if self.users else None,
            auth_required=bool(self.users),
        )

    # -- the test's controls -----------------------------------------------------------------
    @property
    def url(self) -> str:
        """``smtp://`` (STARTTLS or none) or ``smtps://`` (implicit TLS), with the first user."""
        scheme = "smtps" if self.tls == "implicit" else "smtp"
        user = next(iter(self.users.items()), None)
        credentials = f"{user[0]}:{user[1]}@" if user else ""
        return f"{scheme}://{credentials}127.0.0.1:{self.port}"

    def refuse(self, address: str, reply: str = "550 5.1.1 Recipient address rejected") -> None:
        """Refuse ``address`` at RCPT TO, permanently."""
        with self.lock:
            self._state.refused[address.lower()] = reply

    def defer(self, address: str | None = None, reply: str = "451 4.3.0 Try again later") -> None:
        """Answer 451 at RCPT TO for ``address``, or at DATA for every message if ``None``."""
        with self.lock:
            self._state.deferred[address.lower() if address else None] = reply

    def clear(self) -> None:
        """Forget refusals, deferrals and pending drops."""
        with self.lock:
            self._state = _State()

    def drop(self, at: DropAt = "data", *, times: int = 1) -> None:
        """Close the next ``times`` connections at ``at`` without a reply; ``after_data`` keeps
        the message (it is in ``messages`` and the ledger) but never says 250."""
        with self.lock:
            self._state.drops.extend([at] * times)

    # -- lifecycle -----------------------------------------------------------------------------
    def __enter__(self) -> Self:
        self._controller.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._controller.stop()

    # -- server side -------------------------------------------------------------------------
    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if mechanism not in ("PLAIN", "LOGIN") or not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = data.login.decode(), data.password.decode()
        ok = self.users.get(login) == password
        with self.lock:
            self.logins.append((login, ok))
        if not ok:  # handled=False: aiosmtpd answers 535 itself
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=login)

    def _drop_at(self, at: DropAt) -> bool:
        with self.lock:
            if self._state.drops and self._state.drops[0] == at:
                self._state.drops.popleft()
                return True
            return False

    def _keep(self, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or b""
        parsed = email.parser.BytesParser(policy=email.policy.default).parsebytes(data)
        assert isinstance(parsed, EmailMessage)
        queue_id = secrets.token_hex(5).upper()
        received = Received(
            queue_id,
            envelope.mail_from or "",
            tuple(envelope.rcpt_tos),
            data,
            parsed,
            session.auth_data if isinstance(session.auth_data, str) else None,
            self.tls == "implicit" or session.ssl is not None,
        )
        echo = merged_echo({name: str(value) for name, value in parsed.items()})
        with self.lock:
            self.messages.append(received)
        self.ledger.add(
            Accepted(address.lower(), queue_id, "DATA", len(self.messages) - 1, "to", echo, {})
            for address in envelope.rcpt_tos
        )
        return queue_id


class _TLSAwareSMTP(SMTP):
    """aiosmtpd's SMTP, told that an implicit-TLS connection is TLS (so AUTH is offered)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is not None and self._tls_protocol is None:
            # aiosmtpd only knows STARTTLS: it allows AUTH once _tls_protocol is set
            self._tls_protocol = transport  # type: ignore[assignment]
            if self.session is not None:
                self.session.ssl = {"ssl_object": ssl_object}


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _TLSAwareSMTP(self.handler, **self.SMTP_kwargs)


class _Handler:
    """aiosmtpd's handler hooks; each returns the SMTP reply."""

    def __init__(self, fake: FakeSMTP) -> None:
        self.fake = fake

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.fake._drop_at("mail"):
            return _hang_up(server)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.fake._drop_at("rcpt"):
            return _hang_up(server)
        state = self.fake._state
        refused = state.refused.get(address.lower()) or state.deferred.get(address.lower())
        if refused:
            return refused
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.fake._drop_at("data"):
            return _hang_up(server)
        deferred = self.fake._state.deferred.get(None)
        if deferred:
            return deferred
        queue_id = self.fake._keep(session, envelope)
        if self.fake._drop_at("after_data"):
            return _hang_up(server)
        return f"250 2.0.0 Ok: queued as {queue_id}"


def _hang_up(server: SMTP) -> str:
    """Abort the connection; aiosmtpd's write of the reply then goes nowhere."""
    if isinstance(server.transport, asyncio.Transport):
        server.transport.abort()
    return "421 4.3.0 (connection already closed)"
