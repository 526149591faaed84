"""The fake send APIs themselves: each takes its provider's documented request, refuses a
malformed one in the provider's words, keeps a ledger, and injects every fault on demand.

The documented requests are in ``support/fake_senders/examples.py`` (the providers' own
examples, or anymail's test payloads that copy them); README.md there gives each shape's source.
The first tests run for every fake; the provider-specific ones follow.
"""

from __future__ import annotations

import smtplib
import time
import types
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from support.fake_senders import FAKES, FakeAmazonSES, FakeInfobipSender, FakeSender
from support.fake_senders.examples import EXAMPLES, Example, addr, ses_send
from support.fake_senders.smtp import FakeSMTP
from support.fake_senders.tls import Certificate, make_certificate
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
    assert not fake.crashes, "the fake itself failed on a request"


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


#: the providers that document a per-call maximum (Mandrill and SparkPost document none)
BOUNDED = sorted(name for name, example in EXAMPLES.items() if example.batch_max is not None)


@pytest.mark.parametrize("bounded", BOUNDED)
def test_one_over_the_batch_maximum_is_refused_and_the_maximum_accepted(
    http: httpx.Client, bounded: str
) -> None:
    with FAKES[bounded]() as fake:
        _refuses_one_over_the_maximum(http, (EXAMPLES[bounded], fake))
    assert not fake.crashes, "the fake itself failed on a request"


def _refuses_one_over_the_maximum(http: httpx.Client, case: tuple[Example, FakeSender]) -> None:
    example, fake = case
    assert example.batch_max is not None
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


# -- provider by provider: refused recipients, idempotency, the answers' own details ----------


@pytest.fixture
def one(request: pytest.FixtureRequest) -> Iterator[tuple[Example, FakeSender]]:
    """The fake named by the test's ``provider`` parameter (``indirect``)."""
    with FAKES[request.param]() as fake:
        yield EXAMPLES[request.param], fake


def _post(http: httpx.Client, url: str, body: object, **headers: str) -> httpx.Response:
    return http.post(url, json=body, headers=headers)


@pytest.mark.parametrize("one", ["postmark"], indirect=True)
def test_postmark_inactive_recipients(http: httpx.Client, one: tuple[Example, FakeSender]) -> None:
    example, fake = one
    fake.suppress("user0@example.com")
    token = {"X-Postmark-Server-Token": fake.server_token}  # type: ignore[attr-defined]
    message = example.good(1)[0]
    single = http.post(fake.url + "/email", json=message, headers=token)
    assert single.status_code == 422
    assert single.json()["ErrorCode"] == 406
    assert "Found inactive addresses: user0@example.com." in single.json()["Message"]
    partly = dict(message, To="user0@example.com, user1@example.com")
    answer = http.post(fake.url + "/email", json=partly, headers=token).json()
    assert answer["ErrorCode"] == 0
    assert "will not deliver to these inactive addresses: user0@example.com" in answer["Message"]
    assert fake.ledger.recipients() == ["user1@example.com"]
    batch = http.post(fake.url + "/email/batch", json=example.good(2), headers=token)
    assert batch.status_code == 200
    assert [r["ErrorCode"] for r in batch.json()] == [406, 0]


@pytest.mark.parametrize("one", ["mandrill"], indirect=True)
def test_mandrill_rejected_and_invalid_recipients(
    http: httpx.Client, one: tuple[Example, FakeSender]
) -> None:
    example, fake = one
    fake.suppress("user1@example.com", "unsub")
    body = example.good(2)
    body["message"]["to"].append({"email": "invalid@localhost"})
    answer = example.send(http, fake, body, 5).json()
    by_email = {item["email"]: item for item in answer}
    assert by_email["user0@example.com"]["status"] == "sent"
    assert by_email["user0@example.com"]["_id"]
    assert by_email["user1@example.com"]["status"] == "rejected"
    assert by_email["user1@example.com"]["reject_reason"] == "unsub"
    assert "_id" not in by_email["user1@example.com"]
    assert by_email["invalid@localhost"]["status"] == "invalid"
    assert fake.ledger.recipients() == ["user0@example.com"]


@pytest.mark.parametrize("one", ["mailersend"], indirect=True)
def test_mailersend_suppressed_recipients(
    http: httpx.Client, one: tuple[Example, FakeSender]
) -> None:
    example, fake = one
    auth = {"Authorization": f"Bearer {fake.api_key}"}  # type: ignore[attr-defined]
    email = dict(example.good(1)[0], to=[{"email": "user0@example.com"}])
    clean = http.post(fake.url + "/v1/email", json=email, headers=auth)
    assert clean.status_code == 202
    assert clean.content == b""
    assert clean.headers["X-Message-Id"]
    fake.suppress("user1@example.com", "spam_complaint")
    some = dict(email, to=[{"email": "user0@example.com"}, {"email": "user1@example.com"}])
    answer = http.post(fake.url + "/v1/email", json=some, headers=auth)
    assert answer.status_code == 202
    assert answer.headers["X-Message-Id"]
    warning = answer.json()["warnings"][0]
    assert warning["type"] == "SOME_SUPPRESSED"
    assert warning["recipients"] == [
        {"email": "user1@example.com", "name": "", "reasons": ["spam_complaint"]}
    ]
    every = dict(email, to=[{"email": "user1@example.com"}])
    answer = http.post(fake.url + "/v1/email", json=every, headers=auth)
    assert answer.json()["warnings"][0]["type"] == "ALL_SUPPRESSED"
    assert "X-Message-Id" not in answer.headers
    assert fake.ledger.recipients() == ["user0@example.com", "user0@example.com"]


@pytest.mark.parametrize("one", ["unisender_go"], indirect=True)
def test_unisender_go_failed_emails(http: httpx.Client, one: tuple[Example, FakeSender]) -> None:
    example, fake = one
    fake.suppress("user1@example.com", "permanent_unavailable")
    body = example.good(2)
    body["message"]["recipients"].append({"email": "user0@example.com"})
    answer = example.send(http, fake, body, 5).json()
    assert answer["status"] == "success"
    assert answer["emails"] == ["user0@example.com"]
    assert answer["failed_emails"] == {
        "user1@example.com": "permanent_unavailable",
        "user0@example.com": "duplicate",  # and listed in emails: sent once
    }
    assert fake.ledger.recipients() == ["user0@example.com"]


@pytest.mark.parametrize("one", ["amazon_ses"], indirect=True)
def test_ses_bulk_entry_status_for_a_suppressed_recipient(
    http: httpx.Client, one: tuple[Example, FakeSender]
) -> None:
    example, fake = one
    fake.suppress("user1@example.com")
    answer = example.send(http, fake, example.good(3), 5)
    statuses = [entry["Status"] for entry in answer.json()["BulkEmailEntryResults"]]
    assert statuses == ["SUCCESS", "MESSAGE_REJECTED", "SUCCESS"]
    assert fake.ledger.recipients() == ["user0@example.com", "user2@example.com"]


@pytest.mark.parametrize("one", ["sparkpost"], indirect=True)
def test_sparkpost_counts_rejected_recipients(
    http: httpx.Client, one: tuple[Example, FakeSender]
) -> None:
    example, fake = one
    fake.suppress("user1@example.com")
    results = example.send(http, fake, example.good(2), 5).json()["results"]
    assert results["total_accepted_recipients"] == 1
    assert results["total_rejected_recipients"] == 1
    assert results["id"].isdigit()
    assert fake.ledger.recipients() == ["user0@example.com"]


def _sesv2(fake: FakeAmazonSES, secret: str | None = None, key: str | None = None) -> Any:
    return boto3.client(
        "sesv2",
        region_name=fake.region,
        endpoint_url=fake.url,
        aws_access_key_id=key or fake.access_key,
        aws_secret_access_key=secret or fake.secret_key,
        config=Config(retries={"total_max_attempts": 1}),
    )


def test_ses_takes_boto3s_own_requests_and_answers_its_errors() -> None:
    with FakeAmazonSES() as fake:
        client = _sesv2(fake)
        sent = client.send_email(
            FromEmailAddress="from@example.com",
            Destination={"ToAddresses": ["user0@example.com"], "BccAddresses": ["b@example.com"]},
            Content={"Simple": {"Subject": {"Data": "Hi"}, "Body": {"Text": {"Data": "Body"}},
                                "Headers": [{"Name": "X-Emailhook-Id", "Value": "m0"}]}},
            EmailTags=[{"Name": "emailhook_id", "Value": "m0"}],
            ConfigurationSetName="emailhook",
        )  # fmt: skip
        assert sent["MessageId"].startswith("0100")
        raw = b"From: from@example.com\r\nTo: user1@example.com\r\nX-Metadata: "
        raw += b'{"emailhook_id": "m1"}\r\nSubject: Hi\r\n\r\nBody\r\n'
        client.send_email(Content={"Raw": {"Data": raw}})
        bulk = client.send_bulk_email(**EXAMPLES["amazon_ses"].good(2))
        assert [r["Status"] for r in bulk["BulkEmailEntryResults"]] == ["SUCCESS", "SUCCESS"]
        rows = {row.recipient: row for row in fake.ledger}
        assert rows["user0@example.com"].echo["emailhook_id"] == "m0"
        assert rows["b@example.com"].kind == "bcc"
        assert rows["user1@example.com"].echo["emailhook_id"] == "m1"  # from the Raw X-Metadata
        fake.throttle()
        with pytest.raises(ClientError) as throttled:
            client.send_email(**_ses_simple())
        assert throttled.value.response["Error"]["Code"] == "TooManyRequestsException"
        assert throttled.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
        with pytest.raises(ClientError) as forged:
            _sesv2(fake, secret="not-the-secret").send_email(**_ses_simple())
        assert forged.value.response["Error"]["Code"] == "InvalidSignatureException"
        with pytest.raises(ClientError) as stranger:
            _sesv2(fake, key="AKIDSOMEONEELSE00000").send_email(**_ses_simple())
        assert stranger.value.response["Error"]["Code"] == "UnrecognizedClientException"
        assert len(fake.ledger) == 5


def _ses_simple() -> dict[str, Any]:
    return {
        "FromEmailAddress": "from@example.com",
        "Destination": {"ToAddresses": ["user9@example.com"]},
        "Content": {"Simple": {"Subject": {"Data": "Hi"}, "Body": {"Text": {"Data": "x"}}}},
    }


def test_ses_refuses_what_its_model_refuses(http: httpx.Client) -> None:
    with FakeAmazonSES() as fake:
        send = ses_send("/v2/email/outbound-emails")
        typo = dict(_ses_simple(), EmailTag=[{"Name": "a", "Value": "b"}])
        answer = send(http, fake, typo, 5)
        assert answer.status_code == 400
        assert answer.headers["x-amzn-ErrorType"].startswith("BadRequestException")
        assert "EmailTag: is not a member of SendEmailRequest" in answer.json()["message"]
        unsigned = http.post(fake.url + "/v2/email/outbound-emails", json=_ses_simple())
        assert unsigned.status_code == 403
        assert unsigned.headers["x-amzn-ErrorType"].startswith("MissingAuthentication")
        too_many = dict(_ses_simple(), Destination={"ToAddresses": [addr(n) for n in range(51)]})
        assert send(http, fake, too_many, 5).headers["x-amzn-ErrorType"] == "MessageRejected:"
        assert len(fake.ledger) == 0


@pytest.mark.parametrize("one", ["resend"], indirect=True)
def test_resend_idempotency_keys(http: httpx.Client, one: tuple[Example, FakeSender]) -> None:
    example, fake = one
    auth = {"Authorization": f"Bearer {fake.api_key}"}  # type: ignore[attr-defined]
    url = fake.url + "/emails/batch"
    first = http.post(url, json=example.good(2), headers={**auth, "Idempotency-Key": "k1"})
    again = http.post(url, json=example.good(2), headers={**auth, "Idempotency-Key": "k1"})
    assert again.status_code == 200
    assert again.json() == first.json()
    assert len(fake.ledger) == 2  # the replay sent nothing
    other = http.post(url, json=example.good(3), headers={**auth, "Idempotency-Key": "k1"})
    assert other.status_code == 409
    assert other.json()["name"] == "invalid_idempotent_request"
    fake.hang()
    with pytest.raises(httpx.ReadTimeout):
        http.post(url, json=example.good(1), headers={**auth, "Idempotency-Key": "k2"},
                  timeout=TIMEOUT)  # fmt: skip
    wait_until(lambda: fake.faults_pending == 0, 5, "the server to hold the request")
    busy = http.post(url, json=example.good(1), headers={**auth, "Idempotency-Key": "k2"})
    assert busy.status_code == 409
    assert busy.json()["name"] == "concurrent_idempotent_requests"
    fake.release()
    wait_until(lambda: "k2" not in fake._in_flight, 5, "the key to be free")  # type: ignore[attr-defined]
    assert http.post(
        url, json=example.good(1), headers={**auth, "Idempotency-Key": "k2"}
    ).is_success
    long_key = http.post(url, json=example.good(1), headers={**auth, "Idempotency-Key": "k" * 257})
    assert long_key.json()["name"] == "invalid_idempotency_key"
    fake.throttle(retry_after=3)
    limited = http.post(url, json=example.good(1), headers=auth)
    assert limited.headers["retry-after"] == "3"
    assert limited.headers["ratelimit-remaining"] == "0"


@pytest.mark.parametrize("one", ["brevo"], indirect=True)
def test_brevo_idempotency_key_and_rate_limit_headers(
    http: httpx.Client, one: tuple[Example, FakeSender]
) -> None:
    example, fake = one
    body = example.good(2)
    body["headers"] = {"idempotencyKey": str(uuid.uuid4())}
    first = example.send(http, fake, body, 5)
    assert first.status_code == 201
    assert len(first.json()["messageIds"]) == 2
    again = example.send(http, fake, body, 5)
    assert again.status_code == 400
    assert again.json()["code"] == "duplicate_parameter"
    assert len(fake.ledger) == 2
    fake.throttle(retry_after=7)
    limited = example.send(http, fake, example.good(1), 5)
    assert limited.status_code == 429
    assert limited.headers["x-sib-ratelimit-reset"] == "7"


@pytest.mark.parametrize("one", ["infobip"], indirect=True)
def test_infobip_logs_find_a_message_whose_answer_was_lost(
    http: httpx.Client, one: tuple[Example, FakeSender]
) -> None:
    example, fake = one
    auth = {"Authorization": f"App {fake.api_key}"}  # type: ignore[attr-defined]
    fake.lose_answer()
    with pytest.raises(httpx.RemoteProtocolError):
        example.send(http, fake, example.good(2), 5)
    logs = http.get(fake.url + "/email/4/logs", params={"messageId": "m0,m1,m9"}, headers=auth)
    found = logs.json()["results"]
    assert sorted(item["messageId"] for item in found) == ["m0", "m1"]
    assert all("callbackData" not in item for item in found)  # logs carry none
    assert found[0]["status"]["groupName"] == "PENDING"


@pytest.mark.parametrize("one", ["infobip"], indirect=True)
def test_infobip_resend_with_the_same_message_id(
    http: httpx.Client, one: tuple[Example, FakeSender]
) -> None:
    example, fake = one
    assert isinstance(fake, FakeInfobipSender)
    answer = example.send(http, fake, example.good(1), 5).json()
    assert answer["messages"][0]["messageId"] == "m0"
    assert answer["messages"][0]["destination"] == "user0@example.com"
    assert answer["messages"][0]["status"]["name"] == "PENDING_ENROUTE"
    example.send(http, fake, example.good(1), 5)
    assert fake.ledger.duplicates("messageId") == {"m0": 2}  # Infobip's default: a second copy
    fake.ledger.clear()
    fake.idempotent = True
    example.send(http, fake, example.good(1), 5)
    assert len(fake.ledger) == 0
    assert [row.provider_id for row in fake.duplicates] == ["m0"]


@pytest.mark.parametrize("one", ["infobip"], indirect=True)
def test_infobip_both_429_bodies_and_log_lag(
    http: httpx.Client, one: tuple[Example, FakeSender]
) -> None:
    example, fake = one
    assert isinstance(fake, FakeInfobipSender)
    fake.throttle()
    fake.throttle(form="legacy")
    newer = example.send(http, fake, example.good(1), 5)
    older = example.send(http, fake, example.good(1), 5)
    assert newer.json()["errorCode"] == "E429"
    assert older.json()["requestError"]["serviceException"]["messageId"] == "TOO_MANY_REQUESTS"
    assert "retry-after" not in newer.headers
    assert "retry-after" not in older.headers
    fake.log_lag = 60
    example.send(http, fake, example.good(1), 5)
    auth = {"Authorization": f"App {fake.api_key}"}
    logs = http.get(fake.url + "/email/4/logs", params={"messageId": "m0"}, headers=auth)
    assert logs.json()["results"] == []  # accepted, not in the logs yet


@pytest.mark.parametrize("one", ["sendgrid"], indirect=True)
def test_sendgrid_answers(http: httpx.Client, one: tuple[Example, FakeSender]) -> None:
    example, fake = one
    answer = example.send(http, fake, example.good(2), 5)
    assert answer.status_code == 202
    assert answer.content == b""
    assert len(answer.headers["X-Message-Id"]) == 22
    assert {row.provider_id for row in fake.ledger} == {answer.headers["X-Message-Id"]}
    twice = example.good(1)
    twice["personalizations"][0]["cc"] = [{"email": "user0@example.com"}]
    refused = example.send(http, fake, twice, 5)
    assert refused.status_code == 400
    assert "unique between to, cc, and bcc" in refused.json()["errors"][0]["message"]
    number = example.good(1)
    number["personalizations"][0]["custom_args"] = {"id": 5}
    assert example.send(http, fake, number, 5).status_code == 400
    fake.throttle(retry_after=30)
    limited = example.send(http, fake, example.good(1), 5)
    assert int(limited.headers["X-RateLimit-Reset"]) >= int(time.time()) + 29


@pytest.mark.parametrize("one", ["mailgun"], indirect=True)
def test_mailgun_multipart_domains_and_forbidden(
    http: httpx.Client, one: tuple[Example, FakeSender]
) -> None:
    _, fake = one
    key = fake.api_key  # type: ignore[attr-defined]
    fields = {"from": "from@mg.example.com", "to": ["a@example.com", "b@example.com"],
              "subject": "s", "text": "t", "v:emailhook_id": "m1", "o:tag": "welcome"}  # fmt: skip
    files = {"attachment": ("a.txt", b"hello", "text/plain")}
    url = fake.url + "/v3/mg.example.com/messages"
    answer = http.post(url, data=fields, files=files, auth=("api", key))
    assert answer.json()["message"] == "Queued. Thank you."
    assert answer.json()["id"].endswith("@mg.example.com>")
    assert fake.ledger.count("emailhook_id") == {"m1": 2}
    assert next(iter(fake.ledger)).echo["tags"] == ["welcome"]
    other = http.post(fake.url + "/v3/other.example.com/messages", data=fields, auth=("api", key))
    assert other.status_code == 404
    assert other.json() == {"message": "Domain not found: other.example.com"}
    forbidden = http.post(url, data=fields, auth=("api", "wrong"))
    assert (forbidden.status_code, forbidden.text) == (401, "Forbidden")


@pytest.mark.parametrize("one", ["mailjet"], indirect=True)
def test_mailjet_partial_failure_and_big_message_ids(
    http: httpx.Client, one: tuple[Example, FakeSender]
) -> None:
    example, fake = one
    body = example.good(2)
    body["Messages"][1]["To"] = [{"Email": "invalid@123.4"}]
    answer = example.send(http, fake, body, 5)
    assert answer.status_code == 400  # Mailjet's partial success
    first, second = answer.json()["Messages"]
    assert first["Status"] == "success"
    assert isinstance(first["To"][0]["MessageID"], int)
    assert first["To"][0]["MessageID"] > 2**53  # exact only as an integer
    assert second["Status"] == "error"
    assert second["Errors"][0]["ErrorCode"] == "mj-0013"
    assert [row.provider_id for row in fake.ledger] == [str(first["To"][0]["MessageID"])]
    fake.throttle()
    limited = example.send(http, fake, example.good(1), 5)
    assert (limited.status_code, limited.text) == (429, "Rate limit exceeded")


@pytest.mark.parametrize("one", ["postal"], indirect=True)
def test_postal_answers_errors_with_http_200(
    http: httpx.Client, one: tuple[Example, FakeSender]
) -> None:
    example, fake = one
    answer = example.send(http, fake, example.good(51), 5)
    assert answer.status_code == 200
    assert answer.json()["status"] == "error"
    assert answer.json()["data"]["code"] == "TooManyToAddresses"
    ok = example.send(http, fake, example.good(2), 5).json()
    assert ok["status"] == "success"
    messages = ok["data"]["messages"]
    assert sorted(messages) == ["user0@example.com", "user1@example.com"]
    assert all(isinstance(m["id"], int) and m["token"] for m in messages.values())
    assert ok["data"]["message_id"].count("@") == 1


# -- SMTP ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return make_certificate(tmp_path_factory.mktemp("smtp-tls"))


def _message(to: list[str], our_id: str = "m0") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "from@example.com"
    message["To"] = ", ".join(to)
    message["Subject"] = "Hello"
    message["X-Emailhook-Id"] = our_id
    message.set_content("Body")
    return message


def test_smtp_starttls_auth_and_the_message_kept_whole(certificate: Certificate) -> None:
    with FakeSMTP(certificate, tls="starttls") as smtp:
        assert smtp.url == f"smtp://user:secret@127.0.0.1:{smtp.port}"
        with smtplib.SMTP("127.0.0.1", smtp.port, timeout=5) as client:
            with pytest.raises(smtplib.SMTPNotSupportedError):
                client.login("user", "secret")  # AUTH is offered only after STARTTLS
            with pytest.raises(smtplib.SMTPSenderRefused):  # 530: STARTTLS first
                client.send_message(_message(["a@example.com"]))
            client.starttls(context=certificate.client_context())
            with pytest.raises(smtplib.SMTPAuthenticationError):
                client.login("user", "wrong")
            client.login("user", "secret")
            client.send_message(_message(["a@example.com", "b@example.com"]))
        received = smtp.messages[0]
        assert (received.login, received.tls) == ("user", True)
        assert received.rcpt_tos == ("a@example.com", "b@example.com")
        assert received.message["Subject"] == "Hello"
        assert received.message.get_content().strip() == "Body"
        assert smtp.ledger.count("X-Emailhook-Id") == {"m0": 2}
        assert smtp.logins[-1] == ("user", True)  # smtplib tried PLAIN, then LOGIN, before
        assert not any(ok for _, ok in smtp.logins[:-1])


def test_smtp_implicit_tls(certificate: Certificate) -> None:
    with FakeSMTP(certificate, tls="implicit", users={"relay": "pw"}) as smtp:
        assert smtp.url.startswith("smtps://relay:pw@127.0.0.1:")
        context = certificate.client_context()
        with smtplib.SMTP_SSL("127.0.0.1", smtp.port, timeout=5, context=context) as client:
            with pytest.raises(smtplib.SMTPSenderRefused):  # 530: authenticate first
                client.send_message(_message(["a@example.com"]))
            client.login("relay", "pw")
            client.send_message(_message(["a@example.com"]))
        assert smtp.messages[0].tls
        assert smtp.ledger.recipients() == ["a@example.com"]


def test_smtp_refuses_defers_and_drops(certificate: Certificate) -> None:
    with FakeSMTP(certificate, tls="starttls") as smtp:

        def connect() -> smtplib.SMTP:
            client = smtplib.SMTP("127.0.0.1", smtp.port, timeout=5)
            client.starttls(context=certificate.client_context())
            client.login("user", "secret")
            return client

        smtp.refuse("gone@example.com")
        smtp.defer("busy@example.com")
        with connect() as client:
            refused = client.send_message(
                _message(["a@example.com", "gone@example.com", "busy@example.com"])
            )
        assert refused == {
            "gone@example.com": (550, b"5.1.1 Recipient address rejected"),
            "busy@example.com": (451, b"4.3.0 Try again later"),
        }
        assert smtp.ledger.recipients() == ["a@example.com"]
        smtp.clear()
        smtp.defer()  # every DATA
        with connect() as client, pytest.raises(smtplib.SMTPDataError) as deferred:
            client.send_message(_message(["c@example.com"]))
        assert deferred.value.smtp_code == 451
        smtp.clear()
        for at in ("mail", "rcpt", "data"):
            smtp.drop(at)  # type: ignore[arg-type]
            client = connect()
            with pytest.raises(smtplib.SMTPServerDisconnected):
                client.send_message(_message([f"{at}@example.com"]))
            client.close()
        assert smtp.ledger.recipients() == ["a@example.com"]
        smtp.drop("after_data")  # the message is kept, the 250 never comes
        client = connect()
        with pytest.raises(smtplib.SMTPServerDisconnected):
            client.send_message(_message(["kept@example.com"], "m1"))
        client.close()
        assert smtp.ledger.recipients() == ["a@example.com", "kept@example.com"]
        assert smtp.ledger.count("X-Emailhook-Id") == {"m0": 1, "m1": 1}


def test_refusing_connections_also_cuts_a_pooled_keep_alive_connection(
    http: httpx.Client,
) -> None:
    example = EXAMPLES["postmark"]
    with FAKES["postmark"]() as fake:
        assert example.ok(example.send(http, fake, example.good(1), 5))  # the pool keeps it
        with fake.refusing(), pytest.raises((httpx.ConnectError, httpx.RemoteProtocolError)):
            example.send(http, fake, example.good(1), 5)
        assert example.ok(example.send(http, fake, example.good(1), 5))
        assert len(fake.ledger) == 2
