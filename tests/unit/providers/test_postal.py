"""Postal: every saved sample normalized field by field, Held-for-suppression drops, incoming
mail ignored, and RSA signatures (SHA-256 and SHA-1, PEM and base64 DER keys)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from emailhook.domain.vocabulary import ALREADY_SUPPRESSED, BounceClass, EventType, RejectReason
from emailhook.providers.base import (
    AuthenticationError,
    StoredRequest,
    UnreadableBodyError,
    WebhookRequest,
)
from emailhook.providers.postal.webhook import Postal, load_public_key
from support.signing import (
    RsaSigner,
    assert_fields,
    json_request,
    parse_sample,
    provider_values,
    sample,
    sample_names,
    with_header,
)

PROVIDER = Postal(provider_values(Postal))
E, B, R = EventType, BounceClass, RejectReason
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


#: sample -> per event: event_type, bounce_class, reject_reason, status, email, message_id,
#: event_at, provider_event_id
EXPECTED: dict[str, list[tuple[object, ...]]] = {
    "delivered_event": [
        (
            E.DELIVERED,
            None,
            None,
            "MessageSent",
            "recipient@example.com",
            "1563",
            at(1606753101.354368),
            "58e8d7ee-2cd5-4db2-9af3-3f436105795a",
        ),
    ],
    "deferred_event": [
        (
            E.DEFERRED,
            B.SOFT,
            None,
            "MessageDelayed",
            "deferred@example.com",
            "1564",
            at(1606753101.961181),
            "0fcc831f-92b9-4e2b-97f2-d873abc77fab",
        ),
    ],
    "failed_event": [
        (
            E.BOUNCED,
            B.HARD,
            None,
            "MessageDeliveryFailed",
            "failed@example.com",
            "1571",
            at(1606753101.084981),
            "5fec5077-dae7-4989-94d5-e1963f3e9181",
        ),
    ],
    # anymail's bounce sample is named MessageDelayed: the payload's "bounce" decides
    "bounce_event": [
        (
            E.BOUNCED,
            B.UNDETERMINED,
            None,
            "MessageDelayed",
            "bounce@example.com",
            "233843",
            at(1606753101.961181),
            "0fcc831f-92b9-4e2b-97f2-d873abc77fab",
        ),
    ],
    "queued_event": [
        (
            E.REJECTED,
            None,
            R.BOUNCED,
            "MessageHeld",
            "suppressed@example.com",
            "1568",
            at(1606753101.330977),
            "9be13015-2e54-456c-bf66-eacbe33da824",
        ),
    ],
    "ignore_incoming_events": [],
}
FIELDS = ("event_type", "bounce_class", "reject_reason", "status", "email", "message_id",
          "event_at", "provider_event_id")  # fmt: skip


def test_every_saved_sample_has_expectations() -> None:
    assert sorted(EXPECTED) == sample_names("postal")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_sample_normalizes_to_its_fields(name: str) -> None:
    parsed = parse_sample(PROVIDER, name)
    assert len(parsed.events) == len(EXPECTED[name])
    for event, row in zip(parsed.events, EXPECTED[name], strict=True):
        assert_fields(event, {"provider": "postal", **dict(zip(FIELDS, row, strict=True))})


def test_held_for_the_suppression_list_is_already_suppressed_held_otherwise_is_queued() -> None:
    held = parse_sample(PROVIDER, "queued_event").events[0]
    assert held.reject_reason in ALREADY_SUPPRESSED
    body = sample("postal", "queued_event")
    body["payload"]["details"] = "Message held for manual review"
    queued = PROVIDER.parse(StoredRequest(json.dumps(body).encode())).events[0]
    assert (queued.event_type, queued.reject_reason) == (EventType.QUEUED, None)


def test_keys_follow_the_uuid() -> None:
    names = ["delivered_event", "failed_event", "queued_event", "deferred_event"]
    keys = [parse_sample(PROVIDER, n).events[0].event_key for n in names]
    assert len(set(keys)) == len(keys)
    assert keys == [parse_sample(PROVIDER, n).events[0].event_key for n in names]


def test_tag_is_the_sender_metadata_and_a_named_recipient_is_read() -> None:
    body = sample("postal", "delivered_event")
    body["payload"]["message"]["to"] = "Jane Doe <Jane@Example.com>"
    event = PROVIDER.parse(StoredRequest(json.dumps(body).encode())).events[0]
    assert event.email == "jane@example.com"
    assert event.callback_data == {"tag": "welcome-email"}


@pytest.mark.parametrize(
    "body", [b"nope", b"[]", b'{"event": "MessageSent"}', b'{"rcpt_to": "a", "payload": {}}']
)
def test_a_body_that_is_not_postals_is_unreadable(body: bytes) -> None:
    with pytest.raises(UnreadableBodyError):
        PROVIDER.parse(StoredRequest(body))


def _signed(signer: RsaSigner, headers: dict[str, hashes.HashAlgorithm]) -> WebhookRequest:
    request = json_request(json.dumps(sample("postal", "delivered_event")).encode())
    for name, algorithm in headers.items():
        request = with_header(request, name, signer.sign(request.body, algorithm))
    return request


def test_a_sha1_signature_alone_passes_with_a_pem_key() -> None:
    signer = RsaSigner.new()
    provider = Postal(provider_values(Postal, public_keys=[signer.public_pem()]))
    request = _signed(signer, {"x-postal-signature": hashes.SHA1()})
    provider.authenticate(request, NOW)


def test_either_header_that_verifies_is_accepted() -> None:
    signer, other = RsaSigner.new(), RsaSigner.new()
    provider = Postal(provider_values(Postal, public_keys=[signer.public_der_base64()]))
    good_sha1 = _signed(signer, {"x-postal-signature": hashes.SHA1()})
    bad_256 = with_header(
        good_sha1,
        "x-postal-signature-256",
        other.sign(good_sha1.body, hashes.SHA256()),
    )
    provider.authenticate(bad_256, NOW)
    wrong_hash = _signed(signer, {"x-postal-signature-256": hashes.SHA1()})
    with pytest.raises(AuthenticationError):
        provider.authenticate(wrong_hash, NOW)
    garbage = with_header(json_request(b"{}"), "x-postal-signature", "not base64!")
    with pytest.raises(AuthenticationError):
        provider.authenticate(garbage, NOW)


def test_a_key_that_is_not_an_rsa_public_key_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="not a public key"):
        load_public_key("bm90IGEga2V5")
    ec_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    pem = ec_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    with pytest.raises(ValueError, match="RSA"):
        load_public_key(pem)
