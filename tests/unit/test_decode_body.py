"""decode_body: only a JSON object is accepted, and a refusal says what is wrong."""

from __future__ import annotations

import sys

import pytest

from emailhook.providers.base import UnreadableBodyError
from emailhook.providers.infobip.body import decode_body
from support.policies import DEFAULTS


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        pytest.param(b"", "empty", id="empty"),
        pytest.param(b" \r\n\t ", "empty", id="whitespace"),
        pytest.param(b"{", "not valid JSON", id="truncated"),
        pytest.param(b"{'a': 1}", "not valid JSON", id="python literal"),
        pytest.param(b'{"a": 1} x', "not valid JSON", id="trailing garbage"),
        pytest.param(b"\xff\xfe{}", "not valid JSON", id="invalid UTF-8"),
        pytest.param(b'{"a": "\xc3\x28"}', "not valid JSON", id="invalid UTF-8 in a string"),
        pytest.param(b'{"a": "\\ud800"}', "not valid JSON", id="lone surrogate escape"),
        pytest.param(b'{"a": "\\udc00x"}', "not valid JSON", id="lone low surrogate escape"),
        pytest.param(b"[]", "JSON array", id="array"),
        pytest.param(b'[{"messageId": "m"}]', "JSON array", id="array of reports"),
        pytest.param(b'"text"', "JSON string", id="string"),
        pytest.param(b"42", "JSON number", id="integer"),
        pytest.param(b"4.2", "JSON number", id="float"),
        pytest.param(b"true", "JSON boolean", id="boolean"),
        pytest.param(b"null", "JSON null", id="null"),
    ],
)
def test_body_that_is_not_a_json_object_is_refused_saying_why(raw: bytes, problem: str) -> None:
    with pytest.raises(UnreadableBodyError, match=problem):
        decode_body(raw, max_depth=DEFAULTS.max_json_depth)


def test_refusal_of_a_non_object_says_an_object_was_expected() -> None:
    with pytest.raises(UnreadableBodyError, match="expected a JSON object"):
        decode_body(b"[]", max_depth=DEFAULTS.max_json_depth)


def test_invalid_body_error_is_a_value_error() -> None:
    # Callers that only know ValueError still treat it as bad input, not as an outage.
    assert issubclass(UnreadableBodyError, ValueError)


def test_json_object_is_returned_decoded() -> None:
    raw = b' {"results": [{"messageId": "m", "to": "a@b.c", "n": 1.5, "ok": true}]}\n'
    assert decode_body(raw, max_depth=DEFAULTS.max_json_depth) == {
        "results": [{"messageId": "m", "to": "a@b.c", "n": 1.5, "ok": True}]
    }


def test_surrogate_pair_escape_is_decoded_into_one_character() -> None:
    assert decode_body(b'{"s": "\\ud83c\\udf81"}', max_depth=DEFAULTS.max_json_depth) == {
        "s": "\U0001f381"
    }


def test_nul_escape_is_decoded_as_is() -> None:
    # decode_body keeps the body as sent; scrub_nul cleans it before it is stored as JSON.
    assert decode_body(b'{"s": "a\\u0000b"}', max_depth=DEFAULTS.max_json_depth) == {"s": "a\x00b"}


def test_empty_object_is_accepted() -> None:
    assert decode_body(b"{}", max_depth=DEFAULTS.max_json_depth) == {}


# --- nesting depth ------------------------------------------------------------------------


def nested(depth: int, opener: bytes = b"[", closer: bytes = b"]") -> bytes:
    """A JSON object whose deepest value is ``depth`` levels down (the object is level 1)."""
    return b'{"a":' + opener * (depth - 1) + b"0" + closer * (depth - 1) + b"}"


def test_nesting_up_to_the_limit_is_accepted() -> None:
    assert decode_body(nested(3), max_depth=3) == {"a": [[0]]}
    assert decode_body(nested(32, b'{"k":', b"}"), max_depth=32)


@pytest.mark.parametrize("opener", [b"[", b'{"k":'])
def test_nesting_past_the_limit_is_refused_saying_so(opener: bytes) -> None:
    closer = b"]" if opener == b"[" else b"}"
    with pytest.raises(UnreadableBodyError, match="nested deeper than 32 levels"):
        decode_body(nested(33, opener, closer), max_depth=32)


def test_depth_is_measured_on_the_deepest_branch_not_on_the_bracket_count() -> None:
    wide = b'{"results": [' + b",".join([b'{"status": {"id": 1}}'] * 500) + b"]}"
    assert len(decode_body(wide, max_depth=4)["results"]) == 500
    with pytest.raises(UnreadableBodyError):
        decode_body(wide, max_depth=3)


def test_the_depth_check_does_not_recurse() -> None:
    # orjson reads up to 1024 levels; a recursive walk would need that much Python stack.
    frames, frame = 0, sys._getframe()
    while frame.f_back is not None:
        frames, frame = frames + 1, frame.f_back
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(frames + 40)
    try:
        with pytest.raises(UnreadableBodyError, match="nested deeper than 999 levels"):
            decode_body(nested(1000), max_depth=999)
        assert decode_body(nested(1000), max_depth=1000)
    finally:
        sys.setrecursionlimit(previous)


def test_default_depth_limit_is_thirty_two() -> None:
    decode_body(nested(32), max_depth=DEFAULTS.max_json_depth)
    with pytest.raises(UnreadableBodyError, match="32"):
        decode_body(nested(33), max_depth=DEFAULTS.max_json_depth)


def test_invalid_utf8_is_named_as_such_with_its_position() -> None:
    with pytest.raises(UnreadableBodyError, match=r"not valid UTF-8 \(byte 7\)"):
        decode_body(b'{"a": "\xc3\x28"}', max_depth=DEFAULTS.max_json_depth)
