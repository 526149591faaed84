"""mask_email for log lines, scrub_nul for storable JSON."""

from __future__ import annotations

import pytest

from emailhook.domain.masking import mask_email
from emailhook.domain.scrub import NUL_ESCAPE, scrub_nul


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("joao.madero@quite.com.br", "j***@quite.com.br"),
        ("J@example.com", "J***@example.com"),
        ("@example.com", "***@example.com"),
        ("a@b@c", "a***@b@c"),
        ("no-at-sign", "***"),
        ("", "-"),
        (None, "-"),
    ],
)
def test_mask_email_keeps_the_first_letter_and_the_domain_only(
    address: str | None, masked: str
) -> None:
    assert mask_email(address) == masked


def test_masked_address_does_not_contain_the_local_part() -> None:
    assert "madero" not in mask_email("joao.madero@quite.com.br")


def test_scrub_nul_removes_nul_from_strings_and_keys_at_any_depth() -> None:
    dirty = {
        "a\x00": "x\x00y",
        "list": ["\x00", {"k\x00k": ["\x00\x00z"]}],
        "n": 1,
        "f": 1.5,
        "b": True,
        "none": None,
    }
    assert scrub_nul(dirty) == {
        "a": "xy",
        "list": ["", {"kk": ["z"]}],
        "n": 1,
        "f": 1.5,
        "b": True,
        "none": None,
    }


def test_scrub_nul_leaves_clean_values_equal_and_does_not_mutate_its_input() -> None:
    clean = {"results": [{"messageId": "m", "to": "a@b.c"}]}
    dirty = {"s": "a\x00"}
    assert scrub_nul(clean) == clean
    scrub_nul(dirty)
    assert dirty == {"s": "a\x00"}


@pytest.mark.parametrize("scalar", [None, 0, 1.5, True, "text"])
def test_scrub_nul_returns_scalars_unchanged(scalar: object) -> None:
    assert scrub_nul(scalar) == scalar


def test_nul_escape_is_the_json_spelling_of_nul() -> None:
    assert NUL_ESCAPE == b"\\u0000"


def test_mask_addresses_masks_every_address_in_free_text() -> None:
    from emailhook.domain.masking import mask_emails

    text = "to=joao.madero@quite.com.br, cc: X.Y+tag@mail.example.org; done"
    masked = mask_emails(text)
    assert masked == "to=j***@quite.com.br, cc: X***@mail.example.org; done"
    assert mask_emails(masked) == masked
    assert mask_emails("no address @ here") == "no address @ here"
