"""One definition of an e-mail address, for every provider's events and for the send API.

RFC 5321/5322 mailbox syntax, as email-validator reads it with no DNS: a dot-atom or quoted
local part of at most 64 octets, a domain of valid labels (IDNA) or an address literal, at
most 254 in all; internationalized addresses (SMTPUTF8) accepted; control and bidirectional
override characters refused. Addresses are kept lower-cased, as every stored one always was.

email-validator is the definition. It costs about 60 us an address, which the drain would
feel (a worker stores an event in 300-500 us): the common plain ASCII address is first read
by :func:`_plain`, a few ``str`` operations (no regex) that accept only addresses the library
accepts with the same result (``tests/fuzz/test_addresses_fuzz.py`` checks it for any text);
everything else goes to the library.
"""

from __future__ import annotations

from functools import lru_cache

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

#: RFC 5321's limit on the local part, in octets (UTF-8 ones for an SMTPUTF8 address)
LOCAL_PART_OCTETS = 64
#: RFC 5321's limit on a whole address (a forward path less its brackets)
ADDRESS_OCTETS = 254
#: RFC 1035's limit on one label of a domain
LABEL_OCTETS = 63

#: RFC 5322's atext: what a dot-atom local part is made of, in plain ASCII
_ATEXT = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~"
)
#: letters, digits and the hyphen: an ASCII host name's label (RFC 952, RFC 1123)
_LDH = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
#: top-level names email-validator refuses (special-use, RFC 6761 and others)
_SPECIAL_USE = frozenset(SPECIAL_USE_DOMAIN_NAMES)


class InvalidAddressError(ValueError):
    """Not an e-mail address; the message says why (it never repeats the whole input)."""


def parse_address(text: str) -> str:
    """Return ``text`` as a stored address (lower-cased), or raise InvalidAddressError."""
    plain = _plain(text)
    return plain if plain is not None else _parse(text)


def is_address(text: str) -> bool:
    """Return True when ``text`` is an e-mail address by :func:`parse_address`."""
    if _plain(text) is not None:
        return True
    try:
        _parse(text)
    except InvalidAddressError:
        return False
    return True


def stored_address(text: str) -> str:
    """Return what a provider's reader keeps of a recipient: the stored address, or ``text``
    itself when it is none (:func:`is_address` then refuses it, and the event is set aside)."""
    try:
        return parse_address(text)
    except InvalidAddressError:
        return text


def _plain(text: str) -> str | None:
    """Return ``text.lower()`` for a plain ASCII dot-atom address on a host name; else None
    (which says nothing: the library decides)."""
    if len(text) > ADDRESS_OCTETS or not text.isascii():
        return None
    local, at, domain = text.partition("@")
    if not at or not 0 < len(local) <= LOCAL_PART_OCTETS or not _dot_atom(local, _ATEXT):
        return None
    labels = domain.split(".")
    if len(labels) < 2 or not _dot_atom(domain, _LDH):
        return None
    for label in labels:
        # a hyphen first or last is refused; two anywhere may be Punycode or R-LDH: library
        if len(label) > LABEL_OCTETS or label[0] == "-" or label[-1] == "-" or "--" in label:
            return None
    top = labels[-1].lower()
    if not top[-1].isalpha() or top in _SPECIAL_USE:
        return None
    return text.lower()


def _dot_atom(text: str, allowed: frozenset[str]) -> bool:
    """Return True for runs of ``allowed`` characters joined by single dots."""
    if not text or text[0] == "." or text[-1] == "." or ".." in text:
        return False
    return allowed.issuperset(text.replace(".", ""))


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
