"""One definition of an e-mail address, for every provider's events and for the send API.

RFC 5321/5322 mailbox syntax, as email-validator reads it with no DNS: a dot-atom or quoted
local part of at most 64 octets, a domain of valid labels (IDNA) or an address literal, at
most 254 in all; internationalized addresses (SMTPUTF8) accepted; control and bidirectional
override characters refused. Addresses are kept lower-cased, as every stored one always was.
"""

from __future__ import annotations

from functools import lru_cache

from email_validator import EmailNotValidError, validate_email

#: RFC 5321's limit on the local part, in octets (UTF-8 ones for an SMTPUTF8 address)
LOCAL_PART_OCTETS = 64


class InvalidAddressError(ValueError):
    """Not an e-mail address; the message says why (it never repeats the whole input)."""


def parse_address(text: str) -> str:
    """Return ``text`` as a stored address (lower-cased), or raise InvalidAddressError."""
    return _parse(text)


def is_address(text: str) -> bool:
    """Return True when ``text`` is an e-mail address by :func:`parse_address`."""
    try:
        _parse(text)
    except InvalidAddressError:
        return False
    return True


@lru_cache(maxsize=65536)
def _parse(text: str) -> str:
    try:
        checked = validate_email(
            text,
            check_deliverability=False,
            allow_smtputf8=True,
            allow_quoted_local=True,
            allow_domain_literal=True,
            strict=True,
        )
    except EmailNotValidError as error:
        raise InvalidAddressError(str(error)) from None
    if len(checked.local_part.encode()) > LOCAL_PART_OCTETS:  # strict counts characters
        raise InvalidAddressError(f"the part before the @-sign is over {LOCAL_PART_OCTETS} octets")
    return checked.normalized.lower()
