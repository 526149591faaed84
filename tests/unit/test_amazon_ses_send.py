"""Amazon SES's send side, field by field: SendEmail, SendBulkEmail, the SigV4 signature and
each answer's results."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

from emailhook.domain.sending.message import Attachment, OutgoingMessage, Recipient
from emailhook.providers.amazon_ses.send import AmazonSESSend
from emailhook.providers.sending import HttpAnswer, HttpRequest, Outcome, SendConfig
from support.fake_senders.core import Request
from support.fake_senders.sigv4 import check_signature

CONFIG = SendConfig(
    "http://ses.test:8080",
    "secret",
    extra={"region": "eu-west-1", "access_key_id": "AKID", "configuration_set": "events"},
)
NOW = datetime.now(UTC).replace(microsecond=0)
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
    metadata={"qj_contact_id": 7, "campaign": "c\u00e9"},
    track_opens=True,
    track_clicks=False,
)


def _side() -> AmazonSESSend:
    return AmazonSESSend(clock=lambda: NOW)


def _templated(public_id: str, email: str, **data: str) -> OutgoingMessage:
    return OutgoingMessage(
        public_id, "shop@example.com", Recipient(email), template_id="dunning", merge_data=data
    )


def _as_received(request: HttpRequest) -> Request:
    url = request.url.removeprefix("http://ses.test:8080")
    headers = {k.lower(): v for k, v in request.headers.items()}
    return Request(0, request.method, url, {}, headers, request.body, 0.0)


def test_a_message_is_one_send_email_with_our_id_as_a_tag() -> None:
    request = _side().prepare([MESSAGE], CONFIG)
    assert (request.method, request.url) == (
        "POST",
        "http://ses.test:8080/v2/email/outbound-emails",
    )
    assert json.loads(request.body) == {
        "FromEmailAddress": "Shop <shop@example.com>",
        "Destination": {"ToAddresses": ["Ann <ann@example.com>"]},
        "Content": {
            "Simple": {
                "Subject": {"Data": "Hi", "Charset": "UTF-8"},
                "Body": {
                    "Text": {"Data": "Hello", "Charset": "UTF-8"},
                    "Html": {"Data": "<p>Hello</p>", "Charset": "UTF-8"},
                },
                "Headers": [
                    {"Name": "X-Campaign", "Value": "june"},
                    {"Name": "X-Metadata", "Value": '{"qj_contact_id":7,"campaign":"c\\u00e9"}'},
                ],
                "Attachments": [
                    {"RawContent": "aGk=", "FileName": "a.txt", "ContentType": "text/plain"}
                ],
            }
        },
        "EmailTags": [{"Name": "emailhook_id", "Value": "msg_1"}],
        "ReplyToAddresses": ["help@example.com"],
        "ConfigurationSetName": "events",
        "ConfigurationOverrides": {
            "Tracking": {"OpenTrackingEnabled": "ENABLED", "ClickTrackingEnabled": "DISABLED"}
        },
    }


def test_the_request_is_signed_with_sigv4_as_aws_checks_it() -> None:
    # signed now, not when the module was imported: AWS (and its fake) refuse a signature
    # older than five minutes, and a long parallel run reaches this test later than that
    now = datetime.now(UTC).replace(microsecond=0)
    request = AmazonSESSend(clock=lambda: now).prepare([MESSAGE], CONFIG)
    assert request.headers["X-Amz-Date"] == now.strftime("%Y%m%dT%H%M%SZ")
    assert request.headers["Host"] == "ses.test:8080"
    assert request.headers["Authorization"].startswith(
        f"AWS4-HMAC-SHA256 Credential=AKID/{now:%Y%m%d}/eu-west-1/ses/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date, Signature="
    )
    received = _as_received(request)
    assert (
        check_signature(received, "http://ses.test:8080", {"AKID": "secret"}, "eu-west-1", "ses")
        is None
    )
    wrong = check_signature(received, "http://ses.test:8080", {"AKID": "other"}, "eu-west-1", "ses")
    assert wrong is not None
    assert wrong.code == "InvalidSignatureException"


def test_templated_messages_go_in_one_bulk_call_each_entry_with_its_id_and_data() -> None:
    side = _side()
    first, second = _templated("m1", "a@example.com", name="A"), _templated("m2", "b@example.com")
    assert side.request_key(first) == side.request_key(second)
    # without a template, each message is its own SendEmail call
    assert side.request_key(MESSAGE) != side.request_key(replace(MESSAGE, public_id="msg_2"))
    request = side.prepare([first, second], SendConfig("http://ses.test", "s", extra={
        "region": "us-east-1", "access_key_id": "AKID"}))  # fmt: skip
    assert request.url == "http://ses.test/v2/email/outbound-bulk-emails"
    assert json.loads(request.body) == {
        "FromEmailAddress": "shop@example.com",
        "DefaultContent": {"Template": {"TemplateName": "dunning", "TemplateData": "{}"}},
        "BulkEmailEntries": [
            {
                "Destination": {"ToAddresses": ["a@example.com"]},
                "ReplacementTags": [{"Name": "emailhook_id", "Value": "m1"}],
                "ReplacementEmailContent": {
                    "ReplacementTemplate": {"ReplacementTemplateData": '{"name": "A"}'}
                },
            },
            {
                "Destination": {"ToAddresses": ["b@example.com"]},
                "ReplacementTags": [{"Name": "emailhook_id", "Value": "m2"}],
                "ReplacementEmailContent": {
                    "ReplacementTemplate": {"ReplacementTemplateData": "{}"}
                },
            },
        ],
    }


def test_each_bulk_entry_gets_its_own_result_in_order() -> None:
    messages = [_templated(f"m{n}", f"r{n}@example.com") for n in range(4)]
    body = json.dumps(
        {
            "BulkEmailEntryResults": [
                {"Status": "SUCCESS", "MessageId": "ses-1"},
                {"Status": "MESSAGE_REJECTED", "Error": "on the suppression list"},
                {"Status": "ACCOUNT_THROTTLED", "Error": "Maximum sending rate exceeded."},
                {"Status": "TEMPLATE_NOT_FOUND", "Error": "no template"},
            ]
        }
    ).encode()
    results = _side().parse(HttpAnswer(200, {}, body), messages)
    assert [(r.outcome, r.provider_message_id, r.reason) for r in results] == [
        (Outcome.ACCEPTED, "ses-1", None),
        (Outcome.REJECTED, None, "MESSAGE_REJECTED: on the suppression list"),
        (Outcome.RETRY, None, "ACCOUNT_THROTTLED: Maximum sending rate exceeded."),
        (Outcome.FAILED, None, "TEMPLATE_NOT_FOUND: no template"),
    ]


def test_send_email_answers_and_errors_are_classified_with_ses_words() -> None:
    side = _side()
    ok = side.parse(HttpAnswer(200, {}, b'{"MessageId": "0100-x"}'), [MESSAGE])
    assert (ok[0].outcome, ok[0].provider_message_id) == (Outcome.ACCEPTED, "0100-x")

    def error(status: int, code: str, message: str) -> HttpAnswer:
        body = json.dumps({"message": message}).encode()
        return HttpAnswer(status, {"x-amzn-errortype": f"{code}:http://internal"}, body)

    [throttled] = side.parse(error(429, "TooManyRequestsException", "slow down"), [MESSAGE])
    assert (throttled.outcome, throttled.reason) == (
        Outcome.RETRY,
        "HTTP 429 TooManyRequestsException: slow down",
    )
    # in the sandbox the sender is refused so as often as the recipient: no evidence
    [rejected] = side.parse(
        error(400, "MessageRejected", "Email address is not verified."), [MESSAGE]
    )
    assert (rejected.outcome, rejected.reason) == (
        Outcome.FAILED,
        "HTTP 400 MessageRejected: Email address is not verified.",
    )
    [failed] = side.parse(error(403, "InvalidSignatureException", "bad"), [MESSAGE])
    assert (failed.outcome, failed.reason) == (
        Outcome.FAILED,
        "HTTP 403 InvalidSignatureException: bad",
    )
    assert side.parse(error(500, "InternalFailure", "x"), [MESSAGE])[0].outcome is Outcome.UNKNOWN
    assert side.parse(HttpAnswer(200, {}, b"{}"), [MESSAGE])[0].outcome is Outcome.UNKNOWN


def test_what_ses_cannot_carry_is_named() -> None:
    side = _side()
    assert side.check(MESSAGE) is None
    subject = OutgoingMessage(
        "m", "a@example.com", Recipient("b@example.com"), subject="x", template_id="t"
    )
    assert "subject cannot go with template_id" in (side.check(subject) or "")
    many = OutgoingMessage(
        "m", "a@example.com", Recipient("b@example.com"),
        headers={f"X-H{n}": "v" for n in range(15)}, metadata={"a": 1},
    )  # fmt: skip
    assert "at most 15 headers" in (side.check(many) or "")
    long = OutgoingMessage(
        "m", "a@example.com", Recipient("b@example.com"), metadata={"a": "x" * 1000}
    )
    assert "the metadata is not" in (side.check(long) or "")
    assert "tags" not in side.features


def test_configured_only_with_both_keys_the_endpoint_from_the_region() -> None:
    values = {
        "access_key_id": ("AKID",), "secret_access_key": (), "region": "eu-west-1",
        "configuration_set": None, "api_url": None, "send_rate": 14.0,
    }  # fmt: skip
    assert AmazonSESSend.configure(values) is None
    configured = AmazonSESSend.configure(values | {"secret_access_key": ("s1", "s0")})
    assert configured is not None
    config, rate = configured
    assert (config.api_url, config.api_key, rate) == (
        "https://email.eu-west-1.amazonaws.com",
        "s1",
        14.0,
    )
    assert config.extra == {"region": "eu-west-1", "access_key_id": "AKID"}


def test_non_ascii_names_are_encoded_words_for_ses() -> None:
    message = replace(
        MESSAGE,
        from_email="Sh\u00f6p <shop@example.com>",
        to=Recipient("ann@example.com", "Ann\u00e9"),
        reply_to=("Hilfe \u00c4 <help@example.com>",),
    )
    body = json.loads(_side().prepare([message], CONFIG).body)
    assert body["FromEmailAddress"] == "=?utf-8?b?U2jDtnA=?= <shop@example.com>"
    assert body["Destination"]["ToAddresses"] == ["=?utf-8?b?QW5uw6k=?= <ann@example.com>"]
    assert body["ReplyToAddresses"] == ["=?utf-8?q?Hilfe_=C3=84?= <help@example.com>"]
