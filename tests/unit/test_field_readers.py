"""One set of field readers for all thirteen providers; Infobip's one difference is named."""

from __future__ import annotations

import hashlib

import pytest

from emailhook.providers._fields import mapping, scalar_address, scalar_text, scalar_upper, text
from emailhook.providers.base import event_key
from emailhook.providers.infobip.parsing import parse_body


@pytest.mark.parametrize(
    ("value", "read"),
    [(" a ", "a"), ("", None), (7, "7"), (None, None), ({"x": 1}, None), ([1], None)],
)
def test_both_readers_agree_on_everything_but_booleans(value: object, read: str | None) -> None:
    assert text(value) == scalar_text(value) == read


def test_a_boolean_is_no_text_but_infobips_reader_keeps_it_as_its_keys_always_did() -> None:
    assert text(True) is None
    assert scalar_text(True) == "True"
    assert scalar_upper(False) == "FALSE"
    assert scalar_address(" Ana@Example.COM ") == "ana@example.com"


def test_a_value_that_is_no_object_reads_as_an_empty_mapping() -> None:
    assert mapping([1, 2]) == {} == mapping(None)
    assert mapping({"a": 1}) == {"a": 1}


def test_the_one_event_key_gives_infobips_keys_as_its_own_function_made_them() -> None:
    # the digest Infobip's parser made before it shared event_key: parts joined by U+001F,
    # None and '' alike
    parts = ("m-1", None, "DELIVERED", "", "2024-07-16T10:00:00+00:00")
    joined = "\x1f".join(part or "" for part in parts).encode()
    assert event_key("dr", *parts) == "dr:" + hashlib.blake2b(joined, digest_size=20).hexdigest()


def test_a_boolean_message_id_still_keys_and_stores_as_the_text_true() -> None:
    body = {"messageId": True, "to": "a@example.com", "status": {"groupName": "DELIVERED"}}
    (event,) = parse_body({"results": [body]}).events
    assert event.message_id == "True"
