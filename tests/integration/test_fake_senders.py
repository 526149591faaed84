"""The fake send APIs themselves: each takes its provider's documented request, refuses a
malformed one in the provider's words, keeps a ledger, and injects every fault on demand.

The documented requests are the providers' own examples (or anymail's test payloads, which
copy them); see tests/support/fake_senders/README.md for the sources of each shape.
"""

from __future__ import annotations

import base64
import json
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from support.fake_senders import (
    FakeMailgun,
    FakePostmark,
    FakeResend,
    FakeSender,
    FakeSendGrid,
)

#: the fakes' attributes that hold a secret (a client built from a copy with these changed
#: presents wrong credentials)
SECRETS = ("api_key", "server_token", "secret_key", "secret_access_key")
#: how long a client waits in the fault tests (a late answer comes after it)
TIMEOUT = 0.3
LATE = 10.0
#: one client for the module: a new httpx client per request costs ~0.1 s (its TLS context)
HTTP = httpx.Client()


@dataclass(frozen=True)
class Case:
    """How to drive one fake: a documented request for ``count`` recipients, and a bad one."""

    make: Callable[[], FakeSender]
    send: Callable[[FakeSender, Any], httpx.Response]
    good: Callable[[int], Any]  # n recipients, each with its own emailhook_id where echoed
    bad: Any
    bad_status: int
    batch_max: int


def _json(path: str, headers: Callable[[Any], dict[str, str]]) -> Callable[..., httpx.Response]:
    def send(fake: Any, body: Any, timeout: float = 5) -> httpx.Response:
        return HTTP.post(fake.url + path, json=body, headers=headers(fake), timeout=timeout)

    return send


def _addr(n: int) -> str:
    return f"user{n}@example.com"


def _postmark_batch(count: int) -> list[dict[str, Any]]:
    # https://postmarkapp.com/developer/user-guide/send-email-with-api/batch-emails
    return [
        {
            "From": "sender@example.com",
            "To": _addr(n),
            "Subject": "Postmark test",
            "TextBody": "Hello dear Postmark user.",
            "HtmlBody": "<html><body><strong>Hello</strong> dear Postmark user.</body></html>",
            "MessageStream": "outbound",
            "Metadata": {"emailhook_id": f"m{n}"},
        }
        for n in range(count)
    ]


def _sendgrid(count: int) -> dict[str, Any]:
    # anymail tests/test_sendgrid_backend.py (one personalization per recipient, custom_args)
    return {
        "personalizations": [
            {"to": [{"email": _addr(n)}], "custom_args": {"emailhook_id": f"m{n}"}}
            for n in range(count)
        ],
        "from": {"email": "from@example.com"},
        "subject": "Subject",
        "content": [{"type": "text/plain", "value": "Text Body"}],
    }


def _mailgun(count: int) -> dict[str, Any]:
    # anymail tests/test_mailgun_backend.py test_merge_metadata: v:key = %recipient.v:key%
    variables = {_addr(n): {"v:emailhook_id": f"m{n}"} for n in range(count)}
    return {
        "from": "from@mg.example.com",
        "to": [_addr(n) for n in range(count)],
        "subject": "Subject",
        "text": "Body",
        "v:emailhook_id": "%recipient.v:emailhook_id%",
        "recipient-variables": json.dumps(variables),
    }


def _mailgun_send(fake: Any, body: Any, timeout: float = 5) -> httpx.Response:
    url = f"{fake.url}/v3/mg.example.com/messages"
    return HTTP.post(url, data=body, auth=("api", fake.api_key), timeout=timeout)


def _resend_batch(count: int) -> list[dict[str, Any]]:
    # https://resend.com/docs/dashboard/emails/batch-sending; metadata as anymail sends it
    return [
        {
            "from": "Acme <onboarding@example.com>",
            "to": [_addr(n)],
            "subject": "hello world",
            "html": "<p>it works!</p>",
            "headers": {"X-Metadata": f'{{"emailhook_id": "m{n}"}}'},
        }
        for n in range(count)
    ]


CASES: dict[str, Case] = {
    "postmark": Case(
        FakePostmark,
        _json("/email/batch", lambda f: {"X-Postmark-Server-Token": f.server_token}),
        _postmark_batch,
        [{"From": "sender@example.com", "TextBody": "no recipient"}],
        200,  # a batch answers 200 with each message's ErrorCode
        500,
    ),
    "sendgrid": Case(
        FakeSendGrid,
        _json("/v3/mail/send", lambda f: {"Authorization": f"Bearer {f.api_key}"}),
        _sendgrid,
        {"personalizations": [{"to": [{"email": "x@example.com"}]}], "from": {}},
        400,
        1000,
    ),
    "mailgun": Case(
        FakeMailgun,
        _mailgun_send,
        _mailgun,
        {"from": "from@mg.example.com", "to": "not-an-address", "text": "x"},
        400,
        1000,
    ),
    "resend": Case(
        FakeResend,
        _json("/emails/batch", lambda f: {"Authorization": f"Bearer {f.api_key}"}),
        _resend_batch,
        [{"from": "a@example.com", "to": ["b@example.com"], "subject": "x", "tags": "no"}],
        422,
        100,
    ),
}


@pytest.fixture(scope="module", autouse=True)
def _close_client() -> Iterator[None]:
    yield
    HTTP.close()


@pytest.fixture(params=sorted(CASES))
def case(request: pytest.FixtureRequest) -> Iterator[tuple[Case, FakeSender]]:
    case = CASES[request.param]
    with case.make() as fake:
        yield case, fake


def test_a_documented_request_is_accepted_and_ledgered(case: tuple[Case, FakeSender]) -> None:
    spec, fake = case
    answer = spec.send(fake, spec.good(3))
    assert answer.status_code in (200, 201, 202), answer.text
    assert sorted(fake.ledger.recipients()) == [_addr(n) for n in range(3)]
    fake.ledger.assert_once("emailhook_id", ["m0", "m1", "m2"])
    assert all(row.provider_id for row in fake.ledger)


def test_a_malformed_request_is_refused_in_the_providers_words(
    case: tuple[Case, FakeSender],
) -> None:
    spec, fake = case
    answer = spec.send(fake, spec.bad)
    assert answer.status_code == spec.bad_status, answer.text
    assert len(fake.ledger) == 0


def test_one_over_the_batch_maximum_is_refused_and_the_maximum_accepted(
    case: tuple[Case, FakeSender],
) -> None:
    spec, fake = case
    over = spec.send(fake, spec.good(spec.batch_max + 1))
    assert over.status_code >= 400, over.text
    assert len(fake.ledger) == 0
    full = spec.send(fake, spec.good(spec.batch_max))
    assert full.status_code < 300, full.text[:300]
    assert len(fake.ledger) == spec.batch_max


def test_wrong_credentials_are_refused(case: tuple[Case, FakeSender]) -> None:
    spec, fake = case
    impostor = types.SimpleNamespace(**vars(fake), url=fake.url)
    for attribute in SECRETS:
        if hasattr(impostor, attribute):
            setattr(impostor, attribute, "rotated-away")
    answer = spec.send(impostor, spec.good(1))
    assert answer.status_code in (401, 403), answer.text
    assert len(fake.ledger) == 0


def test_throttle_then_5xx_then_accepted(case: tuple[Case, FakeSender]) -> None:
    spec, fake = case
    fake.throttle(retry_after=2)
    fake.fail(503)
    assert spec.send(fake, spec.good(1)).status_code == 429
    assert spec.send(fake, spec.good(1)).status_code == 503
    assert len(fake.ledger) == 0
    assert spec.send(fake, spec.good(1)).status_code < 300
    assert len(fake.ledger) == 1


def test_a_hung_request_is_not_accepted(case: tuple[Case, FakeSender]) -> None:
    spec, fake = case
    fake.hang()
    with pytest.raises(httpx.ReadTimeout):
        spec.send(fake, spec.good(1), timeout=TIMEOUT)
    fake.release()
    assert len(fake.ledger) == 0
    assert spec.send(fake, spec.good(1)).status_code < 300


def test_a_late_answer_is_accepted_after_the_client_gave_up(
    case: tuple[Case, FakeSender],
) -> None:
    spec, fake = case
    fake.answer_late(LATE)  # closing the fake cuts the wait short: this costs nothing
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        spec.send(fake, spec.good(1), timeout=TIMEOUT)
    assert time.monotonic() - started < LATE
    assert fake.ledger.recipients() == [_addr(0)]


def test_a_lost_answer_is_accepted_without_an_answer(case: tuple[Case, FakeSender]) -> None:
    spec, fake = case
    fake.lose_answer()
    with pytest.raises(httpx.RemoteProtocolError):
        spec.send(fake, spec.good(1))
    assert fake.ledger.recipients() == [_addr(0)]


def test_refused_connections_then_the_same_url_again(case: tuple[Case, FakeSender]) -> None:
    spec, fake = case
    url = fake.url
    with fake.refusing(), pytest.raises(httpx.ConnectError):
        spec.send(fake, spec.good(1))
    assert fake.url == url
    assert spec.send(fake, spec.good(1)).status_code < 300
    assert len(fake.ledger) == 1


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
