"""One definition of an address: RFC 5321/5322 mailboxes in, everything else refused."""

from __future__ import annotations

import pytest

from emailhook.domain.addresses import InvalidAddressError, is_address, parse_address


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("Joao.Madero@Quite.com.br", "joao.madero@quite.com.br"),
        ("+cmd@evil.example", "+cmd@evil.example"),
        ("-2+3@evil.example", "-2+3@evil.example"),
        ("user+tag@example.com", "user+tag@example.com"),
        ('"a b"@example.com', '"a b"@example.com'),
        ("user@[192.168.0.1]", "user@[192.168.0.1]"),
        ("ñandú@exämple.com", "ñandú@exämple.com"),
        ("用户@例子.广告", "用户@例子.广告"),
    ],
)
def test_an_address_is_stored_lower_cased(text: str, stored: str) -> None:
    assert parse_address(text) == stored
    assert is_address(text)


@pytest.mark.parametrize(
    "text",
    [
        "@",
        "nobody@",
        "a@@b",
        "a b@c d",
        "a\nINJECTED LINE@x.example",
        "x\u202e@y.example",
        "a" * 5000 + "@x.example",
        "a" * 65 + "@x.example",
        "ñ" * 33 + "@x.example",
        "",
        "plain",
        "a@-x.example",
    ],
)
def test_anything_else_is_refused_saying_why(text: str) -> None:
    with pytest.raises(InvalidAddressError) as refused:
        parse_address(text)
    assert str(refused.value)
    assert text not in str(refused.value) or len(text) < 3
    assert not is_address(text)
