"""Event keys as stored: 21 bytes, distinct across providers and kinds, readable back."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from emailhook.adapters.store.event_keys import (
    EVENT_ID_KIND,
    KINDS,
    OTHER_KIND,
    STORED_KEY_BYTES,
    key_text,
    stored_key,
)
from emailhook.domain.events import EmailEvent
from emailhook.providers.base import event_key
from emailhook.providers.infobip.webhook import NAME as INFOBIP
from emailhook.providers.registry import PROVIDERS, parsers
from support.signing import parse_sample, sample_names

HEX = hashlib.blake2b(b"x", digest_size=20).hexdigest()


def every_sample_event() -> Iterator[EmailEvent]:
    for name, provider in parsers().items():
        if name == INFOBIP:
            continue
        for sample in sample_names(name):
            try:
                yield from parse_sample(provider, sample).events
            except Exception:  # a sample that is not an event body (a confirmation)
                continue


def test_every_registered_provider_has_a_kind_byte_before_it_stores_a_key() -> None:
    # A provider added without one would store under OTHER_KIND; giving it a byte later
    # would no longer find its stored keys (duplicates).
    assert {p.name for p in PROVIDERS} - {INFOBIP} <= set(KINDS)
    assert len(set(KINDS.values())) == len(KINDS)
    assert {EVENT_ID_KIND, OTHER_KIND}.isdisjoint(KINDS.values())


@pytest.mark.parametrize("prefix", sorted(KINDS))
def test_a_digest_key_keeps_its_20_bytes_behind_its_kind_byte(prefix: str) -> None:
    stored = stored_key(f"{prefix}:{HEX}")
    assert stored == bytes([KINDS[prefix]]) + bytes.fromhex(HEX)
    assert key_text(stored, None) == f"{prefix}:{HEX}"


def test_the_same_digest_under_every_prefix_and_provider_is_a_different_key() -> None:
    texts = [f"{prefix}:{HEX}" for prefix in KINDS] + [f"ev#{HEX}", f"ev:{HEX}", HEX]
    stored = [stored_key(text) for text in texts]
    assert len(set(stored)) == len(texts)
    assert all(len(key) == STORED_KEY_BYTES for key in stored)


def test_both_forms_of_an_event_id_are_one_key_and_the_short_one_comes_back() -> None:
    event_id = "a1b2c3-event"
    digest = hashlib.blake2b(event_id.encode(), digest_size=20).hexdigest()
    assert stored_key(f"ev:{event_id}") == stored_key(f"ev#{digest}")
    assert key_text(stored_key(f"ev:{event_id}"), event_id) == f"ev:{event_id}"
    long_id = "e" * 101
    long_key = f"ev#{hashlib.blake2b(long_id.encode(), digest_size=20).hexdigest()}"
    assert key_text(stored_key(long_key), long_id) == long_key


@pytest.mark.parametrize(
    "text",
    [HEX.upper(), " " + HEX[1:], HEX[:-1], HEX + "0", "zz" + HEX[2:]],
    ids=["upper", "space", "short", "long", "not-hex"],
)
def test_text_not_as_the_parsers_write_it_is_digested_whole(text: str) -> None:
    stored = stored_key(f"dr:{text}")
    assert stored[0] == OTHER_KIND
    assert stored != stored_key(f"dr:{HEX}")
    assert key_text(stored, None) == f"k#{stored.hex()}"


def test_every_providers_sample_keys_are_21_distinct_bytes_that_read_back() -> None:
    events = {event.event_key: event for event in every_sample_event()}
    # Amazon SES's samples are SNS envelopes its parse reads only once verified
    providers = {key.partition(":")[0] for key in events}
    assert len(providers) >= 10
    assert providers <= {p.name for p in PROVIDERS}
    stored = {stored_key(key): key for key in events}
    assert len(stored) == len(events)
    for key, text in stored.items():
        assert key[0] == KINDS[text.partition(":")[0]]
        assert key_text(key, events[text].provider_event_id) == text


def test_provider_keys_of_the_same_parts_differ_by_provider() -> None:
    keys = {stored_key(event_key(name, "m-1", "a@b.c", "delivered")) for name in KINDS}
    assert len(keys) == len(KINDS)
