"""Inbox bodies on disk: deflated when that is smaller, given back byte for byte."""

from __future__ import annotations

import os
import zlib

import pytest

from emailhook.adapters.db import body_encoding
from emailhook.adapters.db.body_encoding import DEFLATE, IDENTITY, UnknownBodyEncodingError


def test_a_webhook_body_is_deflated_and_given_back_byte_for_byte(
    seed_bodies: dict[str, bytes],
) -> None:
    for name, body in seed_bodies.items():
        stored, encoding = body_encoding.encode(body)
        assert encoding == DEFLATE, name
        assert len(stored) < len(body)
        assert body_encoding.decode(stored, encoding) == body


def test_a_body_that_deflate_would_not_shrink_is_kept_as_received() -> None:
    noise = os.urandom(4096)
    assert body_encoding.encode(noise) == (noise, IDENTITY)
    assert body_encoding.decode(noise, IDENTITY) == noise


def test_a_tiny_body_is_kept_as_received() -> None:
    assert body_encoding.encode(b"{}") == (b"{}", IDENTITY)
    assert body_encoding.encode(b"") == (b"", IDENTITY)


def test_bytes_that_only_look_deflated_stay_as_received_when_their_encoding_says_so() -> None:
    # an old body (stored before the encoding existed) that happens to be a zlib stream
    deflated = zlib.compress(b'{"a": 1}' * 20)
    assert body_encoding.decode(deflated, IDENTITY) == deflated


def test_an_encoding_from_a_newer_version_is_a_clear_error() -> None:
    with pytest.raises(UnknownBodyEncodingError, match="encoding 7 is unknown"):
        body_encoding.decode(b"x", 7)
