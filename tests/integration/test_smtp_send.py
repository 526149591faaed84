"""Sending over SMTP against the local relay (``FakeSMTP``: aiosmtpd, STARTTLS or implicit
TLS, AUTH, faults): the transport alone, each reply's outcome, then end to end through the send
API and the dispatcher from ``EMAILHOOK_SMTP_URL``."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from emailhook.adapters.smtp_send import SmtpSender
from emailhook.domain.sending.message import OutgoingMessage, Recipient
from emailhook.providers.sending import Outcome, RecipientResult
from emailhook.providers.smtp.send import relay_config
from emailhook.settings import Settings
from support.fake_senders.smtp import FakeSMTP
from support.fake_senders.tls import Certificate, make_certificate
from support.send_app import AUTH, SEND_KEY
from support.send_app import dispatch as _dispatch
from support.send_app import message as _message
from support.stack import free_port


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return make_certificate(tmp_path_factory.mktemp("smtp-send-tls"))


def _messages(*to: str) -> list[OutgoingMessage]:
    return [
        OutgoingMessage(f"msg_{n}", "Shop <shop@example.com>", Recipient(a), "Hi", text="Hello")
        for n, a in enumerate(to)
    ]


def _send(
    url: str, certificate: Certificate, *to: str, timeout: float = 5.0
) -> list[RecipientResult]:
    sender = SmtpSender(timeout, certificate.client_context())
    return sender(_messages(*to), relay_config(url))


def _outcomes(results: list[RecipientResult]) -> list[Outcome]:
    return [r.outcome for r in results]


def test_starttls_and_auth_then_each_message_with_our_id(certificate: Certificate) -> None:
    with FakeSMTP(certificate, tls="starttls") as smtp:
        results = _send(smtp.url, certificate, "ann@example.com", "bob@example.com")
        assert _outcomes(results) == [Outcome.ACCEPTED, Outcome.ACCEPTED]
        assert [r.provider_message_id for r in results] == [
            "<msg_0@example.com>",
            "<msg_1@example.com>",
        ]
        assert smtp.logins[-1] == ("user", True)
        assert all(m.tls and m.login == "user" for m in smtp.messages)
        assert [m.rcpt_tos for m in smtp.messages] == [("ann@example.com",), ("bob@example.com",)]
        assert smtp.messages[0].mail_from == "shop@example.com"
        assert smtp.messages[0].message["Message-ID"] == "<msg_0@example.com>"
        smtp.ledger.assert_once("X-Emailhook-Id", ["msg_0", "msg_1"])


def test_implicit_tls(certificate: Certificate) -> None:
    with FakeSMTP(certificate, tls="implicit", users={"relay": "pw"}) as smtp:
        assert smtp.url.startswith("smtps://")
        assert _outcomes(_send(smtp.url, certificate, "ann@example.com")) == [Outcome.ACCEPTED]
        assert smtp.messages[0].tls


def test_a_refused_recipient_is_rejected_a_deferred_one_retried_the_rest_sent(
    certificate: Certificate,
) -> None:
    with FakeSMTP(certificate, tls="starttls") as smtp:
        smtp.refuse("gone@example.com")
        smtp.defer("busy@example.com")
        results = _send(
            smtp.url, certificate, "gone@example.com", "busy@example.com", "ann@example.com"
        )
        assert _outcomes(results) == [Outcome.REJECTED, Outcome.RETRY, Outcome.ACCEPTED]
        assert results[0].reason == "SMTP rcpt: 550 5.1.1 Recipient address rejected"
        assert results[1].reason == "SMTP rcpt: 451 4.3.0 Try again later"
        assert smtp.ledger.recipients() == ["ann@example.com"]


def test_a_451_to_the_end_of_data_is_retried(certificate: Certificate) -> None:
    with FakeSMTP(certificate, tls="starttls") as smtp:
        smtp.defer()
        [result] = _send(smtp.url, certificate, "ann@example.com")
        assert (result.outcome, result.reason) == (
            Outcome.RETRY,
            "SMTP end: 451 4.3.0 Try again later",
        )


def test_a_connection_lost_before_the_data_is_not_sent_and_after_it_uncertain(
    certificate: Certificate,
) -> None:
    with FakeSMTP(certificate, tls="starttls") as smtp:
        smtp.drop("rcpt")
        assert _outcomes(_send(smtp.url, certificate, "ann@example.com")) == [Outcome.RETRY]
        smtp.drop("after_data")  # kept by the relay, its 250 never sent
        results = _send(smtp.url, certificate, "bob@example.com", "cy@example.com")
        # the session is gone: the next message is not tried in it
        assert _outcomes(results) == [Outcome.UNKNOWN, Outcome.RETRY]
        assert smtp.ledger.recipients() == ["bob@example.com"]


def test_a_refused_connection_is_retried_a_wrong_password_fails(certificate: Certificate) -> None:
    port = free_port()
    [refused] = _send(f"smtp://127.0.0.1:{port}", certificate, "ann@example.com")
    assert refused.outcome is Outcome.RETRY
    assert "ConnectionRefusedError" in (refused.reason or "")
    with FakeSMTP(certificate, tls="starttls") as smtp:
        wrong = smtp.url.replace(":secret@", ":wrong@")
        [failed] = _send(wrong, certificate, "ann@example.com")
        assert failed.outcome is Outcome.FAILED
        assert (failed.reason or "").startswith("SMTP session: 535")
        assert smtp.messages == []


def test_no_password_goes_to_a_relay_without_starttls(certificate: Certificate) -> None:
    with FakeSMTP(tls="none", users={}) as smtp:
        url = f"smtp://user:secret@127.0.0.1:{smtp.port}"
        [failed] = _send(url, certificate, "ann@example.com")
        assert (failed.outcome, failed.reason) == (
            Outcome.FAILED,
            "SMTP session: 530 no STARTTLS: the password kept",
        )
        assert smtp.logins == []
        assert smtp.messages == []
        # without credentials a plain relay is used as it is
        assert _outcomes(_send(smtp.url, certificate, "ann@example.com")) == [Outcome.ACCEPTED]


class _SilentAfterData:
    """A relay that takes a message and never answers its end of data (a timeout)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.kept: list[bytes] = []
        self._done = threading.Event()
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        connection, _ = self._server.accept()
        with connection, connection.makefile("rb") as lines:
            connection.sendall(b"220 silent ESMTP\r\n")
            data: list[bytes] = []
            in_data = False
            for line in lines:
                if in_data:
                    if line == b".\r\n":
                        self.kept.append(b"".join(data))
                        self._done.wait(5)  # silent past the client's timeout
                        return
                    data.append(line)
                elif line.upper().startswith(b"EHLO"):
                    connection.sendall(b"250 silent\r\n")
                elif line.upper().startswith(b"DATA"):
                    in_data = True
                    connection.sendall(b"354 go ahead\r\n")
                else:
                    connection.sendall(b"250 OK\r\n")

    def close(self) -> None:
        self._done.set()
        self._server.close()
        self._thread.join(5)


def test_a_timeout_after_the_data_is_uncertain(certificate: Certificate) -> None:
    relay = _SilentAfterData()
    try:
        [result] = _send(
            f"smtp://127.0.0.1:{relay.port}", certificate, "ann@example.com", timeout=0.5
        )
    finally:
        relay.close()
    assert result.outcome is Outcome.UNKNOWN
    assert (result.reason or "").startswith("SMTP end: ")
    assert len(relay.kept) == 1


# -- end to end: the send API, the dispatcher, EMAILHOOK_SMTP_URL ---------------------------------


@pytest.fixture
def smtp(certificate: Certificate, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSMTP]:
    # the relay's certificate trusted the way an operator trusts a private CA: SSL_CERT_FILE
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.cert_path))
    with FakeSMTP(certificate, tls="starttls") as fake:
        yield fake


@pytest.fixture
def settings(tmp_path: Path, smtp: FakeSMTP) -> Settings:
    return Settings(
        data_dir=tmp_path,
        send_api_keys=SEND_KEY,
        send_provider="smtp",
        smtp_url=smtp.url,
        smtp_send_rate=1000.0,
        send_timeout_seconds=2.0,
        intake="database",
    )  # type: ignore[call-arg]


def _accept(app: Flask, *to: Any, **extra: Any) -> tuple[int, Any]:
    body = {"from": "shop@example.com", "subject": "Hi", "text": "Hello", "to": list(to), **extra}
    answer = app.test_client().post("/messages", json=body, headers=AUTH)
    return answer.status_code, answer.get_json()


def _ids(app: Flask, *to: Any) -> list[str]:
    status, body = _accept(app, *to)
    assert status == 202, body
    return [m["id"] for m in body["messages"]]


def test_sent_through_the_relay_from_the_settings(
    app: Flask, settings: Settings, smtp: FakeSMTP
) -> None:
    smtp.refuse("gone@example.com")
    ann, gone = _ids(
        app, {"email": "ann@example.com", "metadata": {"qj_contact_id": 7}}, "gone@example.com"
    )
    _dispatch(settings, app, [ann, gone])
    sent, refused = _message(app, ann), _message(app, gone)
    assert (sent["status"], sent["provider"]) == ("sent", "smtp")
    assert sent["provider_message_id"] == f"<{ann}@example.com>"
    assert (refused["status"], refused["reason"]) == (
        "rejected",
        "SMTP rcpt: 550 5.1.1 Recipient address rejected",
    )
    smtp.ledger.assert_once("X-Emailhook-Id", [ann])


@pytest.mark.parametrize(
    ("reply", "event", "next_message"),
    [
        ("550 5.1.1 No such user", ("bounced", "hard"), "suppressed"),
        ("550 5.1.10 Recipient domain takes no mail", ("bounced", "hard"), "suppressed"),
        ("554 5.7.1 Relay access denied", ("rejected", None), "queued"),
    ],
)
def test_a_refusal_at_rcpt_to_is_a_hard_bounce_only_for_an_address_that_does_not_exist(
    app: Flask,
    settings: Settings,
    smtp: FakeSMTP,
    reply: str,
    event: tuple[str, str | None],
    next_message: str,
) -> None:
    smtp.refuse("gone@example.com", reply)
    [gone] = _ids(app, "gone@example.com")
    _dispatch(settings, app, [gone])
    refused = _message(app, gone)
    assert (refused["status"], refused["reason"]) == ("rejected", f"SMTP rcpt: {reply}")
    assert [(e["event_type"], e["bounce_class"]) for e in refused["events"]] == [event]
    smtp.clear()
    [again] = _ids(app, "gone@example.com")
    assert _message(app, again)["status"] == next_message


def test_a_thousand_recipients_go_in_sessions_of_fifty_each_with_our_id(
    app: Flask, settings: Settings, smtp: FakeSMTP
) -> None:
    to = [f"r{n}@example.com" for n in range(1000)]
    ids = _ids(app, *to)
    _dispatch(settings, app, ids)
    assert smtp.logins == [("user", True)] * 20  # one session (one login) a batch of 50
    assert sorted(r for m in smtp.messages for r in m.rcpt_tos) == sorted(to)
    assert len(smtp.messages) == 1000  # one message a recipient
    smtp.ledger.assert_once("X-Emailhook-Id", ids)
    assert {_message(app, i)["status"] for i in ids[::97]} == {"sent"}


def test_an_unanswered_message_is_never_sent_again(
    app: Flask, settings: Settings, smtp: FakeSMTP
) -> None:
    smtp.drop("after_data")
    [public_id] = _ids(app, "ann@example.com")
    _dispatch(settings, app, [public_id])
    assert _message(app, public_id)["status"] == "sending"
    smtp.clear()
    _dispatch(settings, app, [public_id])  # again at once: held by the first attempt
    smtp.ledger.assert_once("X-Emailhook-Id", [public_id])


def test_what_smtp_cannot_carry_is_refused_by_name(app: Flask) -> None:
    status, body = _accept(app, "ann@example.com", tags=["june"], track_opens=True)
    assert status == 400
    assert "smtp" in str(body)
    assert "tags" in str(body)
