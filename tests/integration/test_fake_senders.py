"""The fake send APIs themselves: each takes its provider's documented request, refuses a
malformed one in the provider's words, keeps a ledger, and injects every fault on demand.

The documented requests are in ``support/fake_senders/examples.py`` (the providers' own
examples, or anymail's test payloads that copy them); README.md there gives each shape's source.
The first tests run for every fake; the provider-specific ones follow.
"""

from __future__ import annotations

import time
import types
from collections.abc import Iterator

import httpx
import pytest

from support.fake_senders import FAKES, FakeSender
from support.fake_senders.examples import EXAMPLES, Example, addr
from support.stack import wait_until

#: the fakes' attributes that hold a secret (a copy with these changed is an impostor)
SECRETS = ("api_key", "server_token", "secret_key")
#: how long a client waits in the fault tests; a late answer comes LATE seconds after
TIMEOUT = 0.3
LATE = 10.0  # closing the fake cuts the wait short: this costs nothing


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    """One client for the module: a new httpx client per request costs ~0.1 s."""
    with httpx.Client() as client:
        yield client


@pytest.fixture(params=sorted(EXAMPLES))
def case(request: pytest.FixtureRequest) -> Iterator[tuple[Example, FakeSender]]:
    with FAKES[request.param]() as fake:
        yield EXAMPLES[request.param], fake


def _send(
    http: httpx.Client, case: tuple[Example, FakeSender], count: int, timeout: float = 5
) -> httpx.Response:
    example, fake = case
    return example.send(http, fake, example.good(count), timeout)


def test_every_provider_has_a_fake_and_an_example() -> None:
    assert sorted(FAKES) == sorted(EXAMPLES)
    assert len(FAKES) == 13


def test_a_documented_request_is_accepted_and_ledgered(
    http: httpx.Client, case: tuple[Example, FakeSender]
) -> None:
    example, fake = case
    answer = _send(http, case, 3)
    assert example.ok(answer), answer.text
    assert sorted(fake.ledger.recipients()) == [addr(n) for n in range(3)]
    rows = list(fake.ledger)
    assert all(row.provider_id for row in rows)
    if example.ours is not None:
        assert sorted(str(example.ours(row)) for row in rows) == ["m0", "m1", "m2"]
    else:  # nothing echoed per recipient: the provider's ids tell the messages apart
        assert len({row.provider_id for row in rows}) == 3


def test_a_malformed_request_is_refused_in_the_providers_words(
    http: httpx.Client, case: tuple[Example, FakeSender]
) -> None:
    example, fake = case
    answer = example.send(http, fake, example.bad, 5)
    assert not example.ok(answer) or fake.name == "postmark", answer.text
    assert answer.headers["content-type"].startswith(("application/json", "application/x-amz"))
    assert answer.json(), "the provider's error body"
    assert len(fake.ledger) == 0


def test_one_over_the_batch_maximum_is_refused_and_the_maximum_accepted(
    http: httpx.Client, case: tuple[Example, FakeSender]
) -> None:
    example, fake = case
    if example.batch_max is None:
        pytest.skip(f"{fake.name} documents no per-call maximum")
    over = _send(http, case, example.batch_max + 1)
    assert not example.ok(over), over.text[:300]
    assert len(fake.ledger) == 0
    full = _send(http, case, example.batch_max)
    assert example.ok(full), full.text[:300]
    assert len(fake.ledger) == example.batch_max


def test_wrong_credentials_are_refused(
    http: httpx.Client, case: tuple[Example, FakeSender]
) -> None:
    example, fake = case
    impostor = types.SimpleNamespace(**vars(fake), url=fake.url)
    for attribute in SECRETS:
        if hasattr(impostor, attribute):
            setattr(impostor, attribute, "rotated-away")
    answer = example.send(http, impostor, example.good(1), 5)
    assert not example.ok(answer), answer.text
    expected = {"postal": 200, "mandrill": 500}.get(fake.name)  # their documented answers
    assert answer.status_code in ((expected,) if expected else (401, 403)), answer.text
    assert len(fake.ledger) == 0


def test_throttle_then_5xx_then_accepted(
    http: httpx.Client, case: tuple[Example, FakeSender]
) -> None:
    example, fake = case
    fake.throttle(retry_after=2)
    fake.fail(503)
    assert _send(http, case, 1).status_code == 429
    assert _send(http, case, 1).status_code == 503
    assert len(fake.ledger) == 0
    assert example.ok(_send(http, case, 1))
    assert len(fake.ledger) == 1


def test_a_hung_request_is_not_accepted(
    http: httpx.Client, case: tuple[Example, FakeSender]
) -> None:
    example, fake = case
    fake.hang()
    with pytest.raises(httpx.ReadTimeout):
        _send(http, case, 1, TIMEOUT)
    wait_until(lambda: fake.faults_pending == 0, 5, "the server to hold the request")
    fake.release()
    assert len(fake.ledger) == 0
    assert example.ok(_send(http, case, 1))


def test_a_late_answer_is_accepted_after_the_client_gave_up(
    http: httpx.Client, case: tuple[Example, FakeSender]
) -> None:
    _, fake = case
    fake.answer_late(LATE)
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        _send(http, case, 1, TIMEOUT)
    assert time.monotonic() - started < LATE
    # the client may give up before the (busy) server got to it: wait for the server's side
    wait_until(lambda: len(fake.ledger) > 0, 5, "the late request to be accepted")
    assert fake.ledger.recipients() == [addr(0)]


def test_a_lost_answer_is_accepted_without_an_answer(
    http: httpx.Client, case: tuple[Example, FakeSender]
) -> None:
    _, fake = case
    fake.lose_answer()
    with pytest.raises(httpx.RemoteProtocolError):
        _send(http, case, 1)
    assert fake.ledger.recipients() == [addr(0)]


def test_refused_connections_then_the_same_url_again(
    http: httpx.Client, case: tuple[Example, FakeSender]
) -> None:
    example, fake = case
    url = fake.url
    with fake.refusing(), pytest.raises(httpx.ConnectError):
        _send(http, case, 1)
    assert fake.url == url
    assert example.ok(_send(http, case, 1))
    assert len(fake.ledger) == 1
