"""Amazon SES via SNS: anymail's SES records mapped field by field, fanned out per recipient;
SNS signatures with a certificate the test makes and serves from a real local HTTP server."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from emailhook.domain.events import EmailEvent, EventKind, Shape
from emailhook.domain.vocabulary import ALREADY_SUPPRESSED, BounceClass, EventType, RejectReason
from emailhook.providers.amazon_ses.webhook import DEFAULT_CERT_URL_PATTERN, AmazonSES
from emailhook.providers.base import (
    AuthenticationError,
    ForbiddenSourceError,
    StoredRequest,
    UnreadableBodyError,
    WebhookRequest,
)
from support.signing import (
    LocalServer,
    SnsSigner,
    basic_header,
    local_server,
    sample,
    url_fetch,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TOPIC = "arn:aws:sns:us-east-1:1234567890:SES_Events"
OTHER_TOPIC = "arn:aws:sns:us-east-1:999999999999:Someone_Elses"
SNS_MESSAGE_ID = "19ba9823-d7f2-53c1-860e-cb10e0d13dfc"
CERT_PATH = "/SimpleNotificationService-test.pem"


def envelope(record: dict[str, Any], topic: str = TOPIC, **extra: Any) -> dict[str, Any]:
    """Wrap an SES record as anymail's test_bounce_event does (SNS fields as there)."""
    return {
        "Type": "Notification",
        "MessageId": SNS_MESSAGE_ID,
        "TopicArn": topic,
        "Subject": "Amazon SES Email Event Notification",
        "Message": json.dumps(record) + "\n",
        "Timestamp": "2018-03-26T17:58:59.675Z",
        **extra,
    }


def parse_record(name: str) -> list[EmailEvent]:
    body = json.dumps(envelope(sample("amazon_ses", name))).encode()
    parsed = AmazonSES({}).parse(StoredRequest(body, "text/plain; charset=UTF-8"))
    assert parsed.shape is Shape.PROVIDER
    return parsed.events


def test_bounce_of_one_recipient_of_three_is_one_hard_bounce() -> None:
    (event,) = parse_record("bounce_event")
    assert event.provider == "amazon_ses"
    assert event.event_type is EventType.BOUNCED
    assert event.kind is EventKind.DELIVERY_REPORT
    assert event.bounce_class is BounceClass.HARD
    assert event.reject_reason is None
    assert event.status == "Bounce"
    assert event.email == "jane@example.com"
    assert event.message_id == "00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000"
    assert event.provider_event_id == SNS_MESSAGE_ID
    assert event.event_at == datetime(2016, 1, 27, 14, 59, 44, 101000, tzinfo=UTC)
    assert event.sent_at == datetime(2016, 1, 27, 14, 59, 38, 237000, tzinfo=UTC)
    assert event.status_description == "Permanent: General"
    assert event.error_description == "smtp; 550 5.1.1 <jane@example.com>... User unknown"
    # X-Metadata header (anymail's convention) is the sender's metadata
    assert event.callback_data == {"meta1": "string", "meta2": 2}
    assert event.raw["recipient"] == "jane@example.com"


def test_a_bounce_of_two_recipients_is_two_events_with_distinct_keys() -> None:
    events = parse_record("multiple_bounce_event")
    assert [event.email for event in events] == ["jane@example.com", "richard@example.com"]
    assert len({event.event_key for event in events}) == 2
    assert [e.event_key for e in parse_record("multiple_bounce_event")] == [
        e.event_key for e in events
    ]


def test_transient_bounce_is_soft() -> None:
    (event,) = parse_record("variant_bounce_transient")
    assert event.event_type is EventType.BOUNCED
    assert event.bounce_class is BounceClass.SOFT


def test_a_bounce_off_the_suppression_list_is_a_rejection_not_a_new_bounce() -> None:
    (event,) = parse_record("variant_bounce_suppressed")
    assert event.event_type is EventType.REJECTED
    assert event.reject_reason is RejectReason.BOUNCED
    assert event.reject_reason in ALREADY_SUPPRESSED


def test_complaint_delivery_and_send() -> None:
    (complaint,) = parse_record("complaint_event")
    assert complaint.event_type is EventType.COMPLAINED
    assert complaint.email == "richard@example.com"
    assert complaint.status_description == "abuse"
    (delivery,) = parse_record("delivery_event")
    assert delivery.event_type is EventType.DELIVERED
    assert delivery.email == "jane@example.com"
    assert delivery.status_description == "250 ok:  Message 64111812 accepted"
    assert delivery.event_at == datetime(2016, 1, 27, 14, 59, 38, 237000, tzinfo=UTC)
    (send,) = parse_record("send_event")
    assert send.event_type is EventType.SENT
    assert send.email == "recipient@example.com"
    # no time of its own: the SNS Timestamp
    assert send.event_at == datetime(2018, 3, 26, 17, 58, 59, 675000, tzinfo=UTC)
    assert send.callback_data is not None
    assert send.callback_data["myCustomTag1"] == "myCustomTagValue1"  # first of the tag's list


@pytest.mark.parametrize(
    ("name", "event_type", "reason"),
    [
        ("reject_event", EventType.REJECTED, RejectReason.BLOCKED),
        ("open_event", EventType.OPENED, None),
        ("click_event", EventType.CLICKED, None),
        ("rendering_failure_event", EventType.FAILED, None),
        ("variant_delivery_delay", EventType.DEFERRED, None),
        ("variant_subscription", EventType.UNSUBSCRIBED, None),
    ],
)
def test_event_types(name: str, event_type: EventType, reason: RejectReason | None) -> None:
    (event,) = parse_record(name)
    assert event.event_type is event_type
    assert event.reject_reason is reason
    assert event.email == "recipient@example.com"


def test_click_url_delay_diagnostic_and_tagged_contact() -> None:
    (click,) = parse_record("click_event")
    assert click.url == "https://docs.aws.amazon.com/ses/latest/DeveloperGuide/"
    (delay,) = parse_record("variant_delivery_delay")
    assert delay.error_description == "smtp; 421 4.4.1 Unable to connect to remote host"
    assert delay.qj_contact_id == 4711
    (failure,) = parse_record("rendering_failure_event")
    assert failure.error_description == (
        "Attribute 'attributeName' is not present in the rendering data."
    )


def test_one_sns_message_id_gives_distinct_keys_per_type() -> None:
    keys = {parse_record(name)[0].event_key for name in ("send_event", "open_event")}
    assert len(keys) == 2  # same SNS id and recipient in both samples


def test_validation_notice_and_confirmations_carry_no_events() -> None:
    for name in ("validation_notification", "subscription_confirmation"):
        body = json.dumps(sample("amazon_ses", name)).encode()
        assert AmazonSES({}).parse(StoredRequest(body, "text/plain")).events == []


def test_a_message_that_is_not_an_ses_record_is_rejected_not_lost() -> None:
    body = json.dumps({**envelope({}), "Message": "hello"}).encode()
    parsed = AmazonSES({}).parse(StoredRequest(body, "text/plain"))
    assert parsed.events == []
    assert len(parsed.rejected) == 1


@pytest.mark.parametrize("body", [b"nope", b"[]", b'{"Type": "Other"}'])
def test_bodies_that_are_not_sns_envelopes_are_unreadable(body: bytes) -> None:
    with pytest.raises(UnreadableBodyError):
        AmazonSES({}).parse(StoredRequest(body, "text/plain"))


# --- signatures, certificates and subscriptions, against a real local HTTP server ----------


@pytest.fixture(scope="module")
def signer() -> SnsSigner:
    return SnsSigner()


@pytest.fixture
def server(signer: SnsSigner) -> Iterator[LocalServer]:
    with local_server({CERT_PATH: signer.pem, "/confirm": b"<ConfirmSubscriptionResponse/>"}) as s:
        yield s


def provider_for(server: LocalServer, **values: Any) -> AmazonSES:
    pattern = "^" + re.escape(server.base_url) + "/"
    return AmazonSES(
        {"topic_arns": (TOPIC,), "cert_url_pattern": pattern, **values}, fetch=url_fetch
    )


def request(message: dict[str, Any], headers: dict[str, str] | None = None) -> WebhookRequest:
    all_headers = {"x-amz-sns-message-type": str(message["Type"]), **(headers or {})}
    return WebhookRequest(json.dumps(message).encode(), all_headers, "text/plain", "https://h/")


@pytest.mark.parametrize("version", ["1", "2"])
def test_both_signature_versions_verify(
    server: LocalServer, signer: SnsSigner, version: str
) -> None:
    message = signer.sign(
        envelope(sample("amazon_ses", "bounce_event")), server.url(CERT_PATH), version
    )
    provider_for(server).authenticate(request(message), NOW)


def test_a_changed_message_fails(server: LocalServer, signer: SnsSigner) -> None:
    message = signer.sign(envelope(sample("amazon_ses", "send_event")), server.url(CERT_PATH))
    message["Message"] = message["Message"].replace("recipient@", "attacker@")
    with pytest.raises(AuthenticationError):
        provider_for(server).authenticate(request(message), NOW)


def test_a_missing_signature_fails(server: LocalServer, signer: SnsSigner) -> None:
    message = signer.sign(envelope(sample("amazon_ses", "send_event")), server.url(CERT_PATH))
    del message["Signature"]
    with pytest.raises(AuthenticationError):
        provider_for(server).authenticate(request(message), NOW)


def test_a_signature_by_another_key_fails(server: LocalServer) -> None:
    impostor = SnsSigner()  # its own key; the server still serves the real certificate
    message = impostor.sign(envelope(sample("amazon_ses", "send_event")), server.url(CERT_PATH))
    with pytest.raises(AuthenticationError, match="does not verify"):
        provider_for(server).authenticate(request(message), NOW)


def test_an_unknown_signature_version_fails(server: LocalServer, signer: SnsSigner) -> None:
    message = signer.sign(envelope(sample("amazon_ses", "send_event")), server.url(CERT_PATH))
    message["SignatureVersion"] = "3"
    with pytest.raises(AuthenticationError):
        provider_for(server).authenticate(request(message), NOW)
    assert server.requests == []


def test_a_cert_url_off_the_pattern_is_refused_without_fetching(
    server: LocalServer, signer: SnsSigner
) -> None:
    message = signer.sign(envelope(sample("amazon_ses", "send_event")), server.url(CERT_PATH))
    strict = AmazonSES({"topic_arns": (TOPIC,)}, fetch=url_fetch)  # the default pattern
    with pytest.raises(AuthenticationError, match="not an SNS host"):
        strict.authenticate(request(message), NOW)
    assert server.requests == []


def test_the_default_pattern_takes_only_sns_hosts_over_https() -> None:
    pattern = re.compile(DEFAULT_CERT_URL_PATTERN)
    assert pattern.match("https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-a.pem")
    assert pattern.match("https://sns.cn-north-1.amazonaws.com.cn/x.pem")
    for url in (
        "http://sns.eu-west-1.amazonaws.com/x.pem",
        "https://sns.eu-west-1.amazonaws.com.evil.example/x.pem",
        "https://evil.example/https://sns.eu-west-1.amazonaws.com/",
        "https://sns.eu-west-1.amazonaws.com@evil.example/x.pem",
    ):
        assert not pattern.match(url), url


def test_a_certificate_is_fetched_once_for_two_messages(
    server: LocalServer, signer: SnsSigner
) -> None:
    provider = provider_for(server)
    for name in ("send_event", "open_event"):
        message = signer.sign(envelope(sample("amazon_ses", name)), server.url(CERT_PATH))
        provider.authenticate(request(message), NOW)
    assert server.requests == [CERT_PATH]


def test_a_foreign_topic_is_forbidden_even_when_signed(
    server: LocalServer, signer: SnsSigner
) -> None:
    record = sample("amazon_ses", "send_event")
    message = signer.sign(envelope(record, OTHER_TOPIC), server.url(CERT_PATH))
    with pytest.raises(ForbiddenSourceError):
        provider_for(server).authenticate(request(message), NOW)


def subscription(server: LocalServer, signer: SnsSigner, topic: str) -> dict[str, Any]:
    message = {
        **sample("amazon_ses", "subscription_confirmation"),
        "TopicArn": topic,
        "SubscribeURL": server.url("/confirm?Action=ConfirmSubscription"),
    }
    return signer.sign(message, server.url(CERT_PATH))


def test_a_subscription_of_an_allowed_topic_is_confirmed(
    server: LocalServer, signer: SnsSigner
) -> None:
    provider = provider_for(server)
    confirmation = request(subscription(server, signer, TOPIC))
    provider.authenticate(confirmation, NOW)
    assert provider.control(confirmation) == f"SNS subscription to {TOPIC} confirmed"
    assert server.requests == [CERT_PATH, "/confirm?Action=ConfirmSubscription"]


def test_a_subscription_of_another_topic_is_never_confirmed(
    server: LocalServer, signer: SnsSigner
) -> None:
    provider = provider_for(server)
    confirmation = request(subscription(server, signer, OTHER_TOPIC))
    with pytest.raises(ForbiddenSourceError):
        provider.authenticate(confirmation, NOW)
    with pytest.raises(ForbiddenSourceError):
        provider.control(confirmation)
    assert "/confirm?Action=ConfirmSubscription" not in server.requests


def test_a_subscribe_url_off_the_pattern_is_not_fetched(
    server: LocalServer, signer: SnsSigner
) -> None:
    message = {
        **sample("amazon_ses", "subscription_confirmation"),
        "TopicArn": TOPIC,
        "SubscribeURL": "https://evil.example/confirm",
    }
    confirmation = request(signer.sign(message, server.url(CERT_PATH)))
    provider = provider_for(server)
    provider.authenticate(confirmation, NOW)
    with pytest.raises(ForbiddenSourceError, match="not an SNS host"):
        provider.control(confirmation)
    assert server.requests == [CERT_PATH]


def test_unsubscribe_confirmation_is_answered_without_fetching(
    server: LocalServer, signer: SnsSigner
) -> None:
    message = {**sample("amazon_ses", "unsubscribe_confirmation"), "TopicArn": TOPIC}
    signed = request(signer.sign(message, server.url(CERT_PATH)))
    provider = provider_for(server)
    provider.authenticate(signed, NOW)
    assert provider.control(signed) == f"SNS unsubscribe confirmation for {TOPIC}"
    assert server.requests == [CERT_PATH]


def test_a_notification_is_no_control_message(server: LocalServer, signer: SnsSigner) -> None:
    message = signer.sign(envelope(sample("amazon_ses", "send_event")), server.url(CERT_PATH))
    assert provider_for(server).control(request(message)) is None


def test_basic_auth_is_asked_for_then_checked(server: LocalServer, signer: SnsSigner) -> None:
    provider = provider_for(server, basic_auth=("sns:s3cret",))
    message = signer.sign(envelope(sample("amazon_ses", "send_event")), server.url(CERT_PATH))
    with pytest.raises(AuthenticationError) as caught:
        provider.authenticate(request(message), NOW)
    assert caught.value.challenge is not None
    assert server.requests == []  # nothing fetched before the credentials
    provider.authenticate(request(message, basic_header("sns:s3cret")), NOW)


def test_a_message_type_header_that_disagrees_fails(server: LocalServer, signer: SnsSigner) -> None:
    message = signer.sign(envelope(sample("amazon_ses", "send_event")), server.url(CERT_PATH))
    with pytest.raises(AuthenticationError):
        provider_for(server).authenticate(
            request(message, {"x-amz-sns-message-type": "SubscriptionConfirmation"}), NOW
        )


def test_a_message_id_header_that_disagrees_fails(server: LocalServer, signer: SnsSigner) -> None:
    message = signer.sign(envelope(sample("amazon_ses", "send_event")), server.url(CERT_PATH))
    with pytest.raises(AuthenticationError):
        provider_for(server).authenticate(request(message, {"x-amz-sns-message-id": "x"}), NOW)
    headers = {"x-amz-sns-message-id": SNS_MESSAGE_ID}
    provider_for(server).authenticate(request(message, headers), NOW)
