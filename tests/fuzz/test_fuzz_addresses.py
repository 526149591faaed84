"""The one definition of an address, for any input: valid addresses (hypothesis' RFC 5322
emails, internationalized ones, formula-like ones) are stored lower-cased and idempotent;
hostile ones (a control, a bidirectional override, a space, a second @ put anywhere) are
refused; the fast path accepts only what email-validator accepts, with the same result."""

from __future__ import annotations

import unicodedata

from hypothesis import assume, given
from hypothesis import strategies as st

from emailhook.domain.addresses import (
    ADDRESS_OCTETS,
    LOCAL_PART_OCTETS,
    InvalidAddressError,
    _parse,
    _plain,
    is_address,
    parse_address,
)
from emailhook.domain.csv_cells import FORMULA_STARTS, neutralized
from emailhook.domain.printable import escaped

#: characters that make any address a hostile one wherever they stand
FORGING = ["\n", "\r", "\t", "\x00", "\x1b", "\u202e", "\u202d", "\u2066", "\u2028", "\x85"]
#: what an address is made of, and what breaks one: for text near the boundary
NEAR = st.text(
    alphabet=st.sampled_from(
        [*"abcXYZ019.-_+=@'!#$%&*/?^`{|}~\"() <>[]:;,\\", "ñ", "ü", "用", "。", "\u0301", *FORGING]
    ),
    max_size=40,
)
#: internationalized addresses: a Unicode local part and a Unicode domain
IDN = st.builds(
    "{}@{}.{}".format,
    st.text(alphabet="ñandúüöçåøæ用户数据", min_size=1, max_size=10),
    st.text(alphabet="exämplbücherñ例子", min_size=1, max_size=10),
    st.sampled_from(["com", "org", "广告", "рф"]),
)


def _checked(text: str) -> str | None:
    why = ""
    try:
        return parse_address(text)
    except InvalidAddressError as refused:
        why = str(refused)
    assert why  # a refusal says why
    return None


def _is_stored_form(stored: str) -> None:
    assert stored == stored.lower()
    assert parse_address(stored) == stored  # idempotent: a stored address reads as itself
    assert escaped(stored) == stored  # nothing to escape: no control, no override
    assert len(stored.encode()) <= ADDRESS_OCTETS
    local = stored.rpartition("@")[0]
    assert 0 < len(local.encode()) <= LOCAL_PART_OCTETS


@given(st.emails() | IDN)
def test_a_valid_address_is_stored_lower_cased_and_reads_as_itself(text: str) -> None:
    stored = _checked(text)
    assume(stored is not None)  # st.emails() may give a special-use or >64-octet address
    assert stored is not None
    _is_stored_form(stored)
    assert is_address(text)


@given(st.emails(), st.sampled_from(["=", "+", "-"]))
def test_a_formula_like_valid_address_is_stored_and_neutralized_in_csv(
    text: str, start: str
) -> None:
    stored = _checked(start + text)
    assume(stored is not None)
    assert stored is not None
    assert stored.startswith(start)
    assert not neutralized(stored).startswith(FORMULA_STARTS)


@given(st.emails() | IDN, st.sampled_from(FORGING), st.data())
def test_a_forging_character_anywhere_makes_it_no_address(
    text: str, char: str, data: st.DataObject
) -> None:
    at = data.draw(st.integers(0, len(text)))
    hostile = text[:at] + char + text[at:]
    assert _checked(hostile) is None
    assert not is_address(hostile)


@given(st.emails() | IDN, st.sampled_from([" ", "@", "@@"]), st.data())
def test_a_space_or_another_at_sign_in_the_address_makes_it_no_address(
    text: str, inserted: str, data: st.DataObject
) -> None:
    at = data.draw(st.integers(0, len(text)))
    assert _checked(text[:at] + inserted + text[at:]) is None


@given(st.text() | NEAR | st.emails().map(lambda e: e.upper()))
def test_any_text_is_an_address_by_the_library_or_none_and_the_fast_path_agrees(
    text: str,
) -> None:
    stored = _checked(text)
    plain = _plain(text)
    if plain is not None:
        assert stored == plain == _parse(text)  # the fast path is the library, only faster
    if stored is not None:
        _is_stored_form(stored)
        assert not any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in stored)
    assert is_address(text) == (stored is not None)


@given(st.text(min_size=255, max_size=6000))
def test_a_long_text_is_no_address(text: str) -> None:
    assert not is_address(text)
