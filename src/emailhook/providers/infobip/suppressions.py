"""Infobip's own lists read as suppression evidence: the e-mail suppression list
(``GET /email/1/suppressions``: BOUNCE, COMPLAINT, OVER_QUOTA per sending domain) and the
blocklist (``GET /platform/1/blocklists?channel=EMAIL``: unsubscribes), and what each domain
lets this service read and add (``GET /email/1/suppressions/domains``).

Shapes: ``email_suppressions_get_response.json``, ``blocklists_get_response.json``,
``email_suppression_domains_response.json``. Pure: stdlib and the domain only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from emailhook.domain.addresses import InvalidAddressError, parse_address
from emailhook.domain.instants import parse_instant
from emailhook.domain.suppression import SuppressionReason

#: Infobip's suppression types, in our reasons
TYPES: Mapping[str, SuppressionReason] = {
    "BOUNCE": SuppressionReason.HARD_BOUNCE,  #: a permanent bounce Infobip saw
    "COMPLAINT": SuppressionReason.COMPLAINT,  #: a spam complaint
    #: a full mailbox: temporary, like our soft bounces (and ends like them, by the window)
    "OVER_QUOTA": SuppressionReason.SOFT_BOUNCES,
}
#: the domain's flag that allows reading each type
READ_FLAGS: Mapping[str, str] = {
    "BOUNCE": "readBounces",
    "COMPLAINT": "readComplaints",
    "OVER_QUOTA": "readOverquotas",
}
#: the domain's flag that allows adding each type (OVER_QUOTA cannot be added)
CREATE_FLAGS: Mapping[str, str] = {"BOUNCE": "createBounces", "COMPLAINT": "createComplaints"}
#: our reasons exported to Infobip, as its types
EXPORTED: Mapping[SuppressionReason, str] = {
    SuppressionReason.HARD_BOUNCE: "BOUNCE",
    SuppressionReason.COMPLAINT: "COMPLAINT",
}


@dataclass(frozen=True, slots=True)
class Imported:
    """One address Infobip suppresses: why and since when."""

    email: str
    reason: SuppressionReason
    since: datetime


def domain_name(domain: Mapping[str, Any]) -> str | None:
    name = domain.get("domainName")
    return name.strip() if isinstance(name, str) and name.strip() else None


def may(domain: Mapping[str, Any], flag: str) -> bool:
    """Return True when the domain's permission ``flag`` is ``true`` (absent: not allowed)."""
    return domain.get(flag) is True


def suppression_entry(item: Mapping[str, Any], type_: str) -> Imported | None:
    """Return one suppression list entry as our evidence; None when unreadable."""
    email = item.get("emailAddress")
    since = parse_instant(item.get("createdDate"))
    reason = TYPES.get(str(item.get("type") or type_).upper())
    address = _address(email)
    if address is None or since is None or reason is None:
        return None
    return Imported(address, reason, since)


def blocklist_entry(item: Mapping[str, Any]) -> Imported | None:
    """Return one blocklist entry of the e-mail channel as an unsubscribe; None otherwise."""
    if str(item.get("channel") or "").upper() != "EMAIL":
        return None  # SMS, MMS, APPLE_MB, ...: numbers and ids, not addresses
    email = item.get("destination")
    since = parse_instant(item.get("createdDate"))
    address = _address(email)
    if address is None or since is None:
        return None
    return Imported(address, SuppressionReason.UNSUBSCRIBE, since)


def _address(value: object) -> str | None:
    """Return an entry's address by the one definition; None for anything else."""
    if type(value) is not str:
        return None
    try:
        return parse_address(value.strip())
    except InvalidAddressError:
        return None
