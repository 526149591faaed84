"""callbackData: the sender's ids, echoed back as untrusted text in several encodings."""

from __future__ import annotations

import ast
import json
import time

import pytest

from emailhook.domain.callback_data import (
    MAX_CALLBACK_DATA_CHARS,
    as_int,
    as_text,
    parse_callback_data,
)
from emailhook.providers.infobip.parsing import parse_body

BIGINT_MAX = 2**63 - 1


def opened_with(callback_data: object) -> dict[str, object]:
    body: dict[str, object] = {"notificationType": "OPENED", "recipient": "a@example.com"}
    if callback_data is not ...:
        body["callbackData"] = callback_data
    return body


# --- parse_callback_data ------------------------------------------------------------------


def test_json_object_in_a_string_is_decoded() -> None:
    assert parse_callback_data('{"qj_contact_id": 3, "qj_creditor_id": "13"}') == {
        "qj_contact_id": 3,
        "qj_creditor_id": "13",
    }


def test_python_repr_dict_in_a_string_is_decoded() -> None:
    assert parse_callback_data("{'qj_contact_id': '124127953', 'qj_firing_id': 489166}") == {
        "qj_contact_id": "124127953",
        "qj_firing_id": 489166,
    }


def test_python_repr_with_python_only_literals_is_decoded() -> None:
    assert parse_callback_data("{'a': True, 'b': None, 'c': 1.5}") == {
        "a": True,
        "b": None,
        "c": 1.5,
    }


def test_surrounding_whitespace_is_ignored() -> None:
    assert parse_callback_data('  \n{"qj_contact_id": 3}\t ') == {"qj_contact_id": 3}


def test_object_sent_as_an_object_is_taken_as_is_with_text_keys() -> None:
    assert parse_callback_data({"qj_contact_id": 3, 7: "x"}) == {"qj_contact_id": 3, "7": "x"}


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("contact 3, campaign aquecimento", id="free text"),
        pytest.param('[{"qj_contact_id": 3}]', id="JSON list"),
        pytest.param('"{\\"qj_contact_id\\": 3}"', id="JSON string of JSON"),
        pytest.param("42", id="number text"),
        pytest.param(42, id="number"),
        pytest.param(True, id="bool"),
        pytest.param([{"qj_contact_id": 3}], id="list object"),
        pytest.param("{'qj_contact_id': 3", id="unclosed python literal"),
        pytest.param("{'a': __import__('os').system('true')}", id="code, not a literal"),
        pytest.param("{'a': 1 +}", id="syntax error"),
        pytest.param("{'a': b'\\x00'} {", id="trailing garbage"),
        pytest.param("{[1]: 2}", id="unhashable key"),
        pytest.param("{'a': '\x00'}", id="NUL in the source"),
        pytest.param("{not json at all", id="brace then free text"),
    ],
)
def test_anything_but_an_object_gives_none(value: object) -> None:
    assert parse_callback_data(value) is None


def test_oversized_callback_data_is_ignored() -> None:
    filler = "x" * MAX_CALLBACK_DATA_CHARS
    assert parse_callback_data(f'{{"qj_contact_id": 3, "pad": "{filler}"}}') is None


def test_callback_data_just_under_the_cap_is_decoded() -> None:
    head = '{"qj_contact_id": 3, "pad": "'
    text = head + "x" * (MAX_CALLBACK_DATA_CHARS - len(head) - 2) + '"}'
    assert len(text) == MAX_CALLBACK_DATA_CHARS
    assert parse_callback_data(text) == {"qj_contact_id": 3, "pad": text[len(head) : -2]}


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("{'a':" + "[" * 100_000, id="oversized unclosed nesting"),
        pytest.param("{'a':" + "[" * 8000, id="unclosed nesting under the cap"),
        pytest.param("{'a':" + "[" * 1000 + "]" * 1000 + "}", id="closed nesting"),
        pytest.param('{"a":' + "[" * 2000 + "]" * 2000 + "}", id="JSON nesting"),
        pytest.param("{'a': " + "-" * 8000 + "1}", id="unary chain"),
        pytest.param("{'a': " + "not " * 2000 + "1}", id="operator chain"),
        pytest.param("{'a': " + "9" * 5000 + "}", id="int over the digit limit"),
        pytest.param("{'a': 9**9**9**9}", id="power tower (never evaluated)"),
        pytest.param("{'a': 'x' * 10**10}", id="string repetition (never evaluated)"),
        pytest.param("{'a': (1,) * 10**10}", id="tuple repetition (never evaluated)"),
        pytest.param("{'a': 1" + "-1" * 3000 + "}", id="subtraction chain"),
        pytest.param("{'a': " + "+-~" * 2000 + "1}", id="mixed unary chain"),
        pytest.param("{'a': (" * 1500 + "1" + ")}" * 1500, id="deep dict and tuple"),
        pytest.param("{'a': (lambda: 1)()}", id="call"),
        pytest.param("{'a': f'{1}'}", id="f-string"),
        pytest.param("{'a': __import__('os').getcwd()}", id="import"),
    ],
)
def test_hostile_python_literal_gives_none_without_raising(text: str) -> None:
    # A guard against a blow-up (a parser gone quadratic or exponential), not a speed target:
    # this process's own CPU seconds, which the machine's other work does not inflate.
    started = time.process_time()
    assert parse_callback_data(text) is None
    assert time.process_time() - started < 2


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("{'a': '" + "x" * 8100 + "'}", id="long string"),
        pytest.param("{'a': " + "'x' " * 2000 + "}", id="implicit concatenation"),
        pytest.param("{'a': [" + "[]," * 2700 + "]}", id="many small lists"),
        pytest.param("{'a': {" + ",".join(str(i) for i in range(1500)) + "}}", id="big set"),
        pytest.param("{'a': " + "[" * 190 + "]" * 190 + "}", id="nesting the parser allows"),
        pytest.param("{'a': 1e999999, 'b': -1e999999}", id="infinite floats"),
        pytest.param("{'a': b'" + "\\x00" * 1000 + "'}", id="bytes of NUL"),
    ],
)
def test_heavy_but_valid_python_literal_is_decoded_quickly_into_storable_json(text: str) -> None:
    started = time.process_time()
    data = parse_callback_data(text)
    assert time.process_time() - started < 2
    assert data is not None
    json.dumps(data)


@pytest.mark.parametrize("literal", ["0x" + "f" * 8000, "-0o" + "7" * 5000, "9" * 4300])
def test_int_too_long_to_print_is_stored_in_hex_instead_of_poisoning_the_body(
    literal: str,
) -> None:
    # Python refuses to print an int of more than 4300 digits: json.dumps would then fail on
    # every attempt and the body would be dead-lettered.
    text = f"{{'qj_creditor_id': {literal}}}"
    data = parse_callback_data(text)
    assert data is not None
    assert data["qj_creditor_id"] == hex(ast.literal_eval(literal))
    json.dumps(data)
    (event,) = parse_body(opened_with(text)).events
    assert event.creditor_id == data["qj_creditor_id"]
    (event,) = parse_body(opened_with(text.replace("qj_creditor_id", "qj_contact_id"))).events
    assert event.qj_contact_id is None


def test_huge_int_literal_under_the_digit_limit_is_kept_but_is_no_contact_id() -> None:
    text = "{'qj_contact_id': " + "9" * 4000 + "}"
    data = parse_callback_data(text)
    assert data is not None
    assert data["qj_contact_id"] == int("9" * 4000)
    (event,) = parse_body(opened_with(text)).events
    assert event.qj_contact_id is None


def test_json_int_beyond_64_bits_is_read_as_a_float_and_is_no_contact_id() -> None:
    (event,) = parse_body(opened_with('{"qj_contact_id": 99999999999999999999999}')).events
    assert event.qj_contact_id is None


def test_json_unicode_escapes_are_decoded() -> None:
    data = parse_callback_data('{"qj_subject": "voc\\u00ea \\ud83c\\udf81"}')
    assert data == {"qj_subject": "você 🎁"}


def test_python_repr_unicode_escapes_are_decoded() -> None:
    data = parse_callback_data("{'qj_subject': 'pend\\u00eancia QuiteJ\\u00e1'}")
    assert data == {"qj_subject": "pendência QuiteJá"}


# --- the callbackData columns of an event -------------------------------------------------


@pytest.mark.parametrize(
    ("callback_data", "contact_id"),
    [
        pytest.param('{"qj_contact_id": 3}', 3, id="JSON int"),
        pytest.param('{"qj_contact_id": "310372388"}', 310372388, id="JSON numeric string"),
        pytest.param('{"qj_contact_id": " 42 "}', 42, id="padded numeric string"),
        pytest.param("{'qj_contact_id': '124127953'}", 124127953, id="repr numeric string"),
        pytest.param({"qj_contact_id": 7}, 7, id="object"),
        pytest.param('{"qj_contact_id": 3.0}', 3, id="integral float"),
        pytest.param('{"qj_contact_id": 3.5}', None, id="fractional float"),
        pytest.param('{"qj_contact_id": "abc"}', None, id="letters"),
        pytest.param('{"qj_contact_id": true}', None, id="bool"),
        pytest.param('{"qj_contact_id": null}', None, id="null"),
        pytest.param('{"qj_contact_id": [3]}', None, id="list"),
        pytest.param(f'{{"qj_contact_id": {BIGINT_MAX}}}', BIGINT_MAX, id="BIGINT max"),
        pytest.param(f'{{"qj_contact_id": "{BIGINT_MAX + 1}"}}', None, id="beyond BIGINT"),
        pytest.param('{"other": 3}', None, id="absent"),
        pytest.param("free text", None, id="free text"),
        pytest.param(..., None, id="no callbackData"),
    ],
)
def test_contact_id_is_read_from_callback_data(callback_data: object, contact_id: object) -> None:
    (event,) = parse_body(opened_with(callback_data)).events
    assert event.qj_contact_id == contact_id


def test_free_text_callback_data_is_kept_raw_only() -> None:
    (event,) = parse_body(opened_with("campaign 42")).events
    assert event.callback_data is None
    assert event.callback_data_raw == "campaign 42"
    assert (event.qj_contact_id, event.campaign, event.creditor_id) == (None, None, None)


def test_empty_callback_data_is_kept_raw_as_empty() -> None:
    (event,) = parse_body(opened_with("")).events
    assert event.callback_data is None
    assert event.callback_data_raw == ""


def test_missing_callback_data_gives_no_callback_fields() -> None:
    (event,) = parse_body(opened_with(...)).events
    assert (event.callback_data, event.callback_data_raw) == (None, None)
    assert (event.qj_contact_id, event.campaign) == (None, None)
    assert (event.creditor_id, event.creditor_name) == (None, None)


def test_callback_data_object_has_no_raw_text() -> None:
    (event,) = parse_body(opened_with({"qj_contact_id": "5", "qj_creditor_id": 13})).events
    assert event.callback_data == {"qj_contact_id": "5", "qj_creditor_id": 13}
    assert event.callback_data_raw is None
    assert event.qj_contact_id == 5


def test_creditor_and_campaign_are_text_whether_sent_as_number_or_string() -> None:
    as_number = '{"qj_creditor_id": 13, "qj_approach_flow_campaign": 2024}'
    as_string = '{"qj_creditor_id": "13", "qj_approach_flow_campaign": "2024"}'
    (from_number,) = parse_body(opened_with(as_number)).events
    (from_string,) = parse_body(opened_with(as_string)).events
    assert from_number.creditor_id == from_string.creditor_id == "13"
    assert from_number.campaign == from_string.campaign == "2024"


def test_structured_creditor_name_is_not_a_column_value() -> None:
    (event,) = parse_body(opened_with('{"qj_creditor_name": {"name": "Geru"}}')).events
    assert event.creditor_name is None
    assert event.callback_data == {"qj_creditor_name": {"name": "Geru"}}


# --- as_int and as_text -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "number"),
    [
        (3, 3),
        (0, 0),
        (-5, -5),
        ("310372388", 310372388),
        (" 42 ", 42),
        ("+42", 42),
        ("-42", -42),
        (3.0, 3),
        (BIGINT_MAX, BIGINT_MAX),
        (-(2**63), -(2**63)),
        (str(BIGINT_MAX), BIGINT_MAX),
        (2**63, None),
        (-(2**63) - 1, None),
        ("9" * 21, None),
        ("0" * 10_000, None),
        (1e30, None),
        ("abc", None),
        ("", None),
        ("4 2", None),
        ("4.0", None),
        ("--5", None),
        ("+-5", None),
        ("\u00b2", None),  # superscript two: str.isdigit() says yes, int() says no
        (3.5, None),
        (float("nan"), None),
        (float("inf"), None),
        (True, None),
        (False, None),
        (None, None),
        ([3], None),
        ({"id": 3}, None),
    ],
)
def test_as_int_accepts_ints_and_numeric_strings_within_bigint(
    value: object, number: object
) -> None:
    assert as_int(value) == number


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("Geru", "Geru"),
        (13, "13"),
        (1.5, "1.5"),
        (True, "True"),
        ("", ""),
        (None, None),
        ({"a": 1}, None),
        ([1], None),
    ],
)
def test_as_text_turns_scalars_into_text_and_structures_into_none(
    value: object, text: str | None
) -> None:
    assert as_text(value) == text
