"""decode_body: only a JSON object is accepted, and a refusal says what is wrong."""

from __future__ import annotations

import pytest

from emailhook.service.errors import InvalidBodyError
from emailhook.service.intake import decode_body


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
    with pytest.raises(InvalidBodyError, match=problem):
        decode_body(raw)


def test_refusal_of_a_non_object_says_an_object_was_expected() -> None:
    with pytest.raises(InvalidBodyError, match="expected a JSON object"):
        decode_body(b"[]")


def test_invalid_body_error_is_a_value_error() -> None:
    # Callers that only know ValueError still treat it as bad input, not as an outage.
    assert issubclass(InvalidBodyError, ValueError)


def test_json_object_is_returned_decoded() -> None:
    raw = b' {"results": [{"messageId": "m", "to": "a@b.c", "n": 1.5, "ok": true}]}\n'
    assert decode_body(raw) == {
        "results": [{"messageId": "m", "to": "a@b.c", "n": 1.5, "ok": True}]
    }


def test_surrogate_pair_escape_is_decoded_into_one_character() -> None:
    assert decode_body(b'{"s": "\\ud83c\\udf81"}') == {"s": "\U0001f381"}


def test_nul_escape_is_decoded_as_is() -> None:
    # decode_body keeps the body as sent; scrub_nul cleans it before it is stored as JSON.
    assert decode_body(b'{"s": "a\\u0000b"}') == {"s": "a\x00b"}


def test_empty_object_is_accepted() -> None:
    assert decode_body(b"{}") == {}
