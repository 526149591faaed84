"""Which Infobip channel a webhook item comes from: e-mail, or one of the others that post the
same ``{"results": [...]}`` shape to a URL (SMS, WhatsApp, Viber, RCS, Messages API, blocklist).

An account that points several channels' reports at this service's URL, or that misconfigures
one, sends bodies that look like e-mail and are not (``sms_dlr_v2_webhook.json``,
``whatsapp_dlr_webhook.json``). Only items of channel :data:`EMAIL` are e-mail events; the
others are named here so they can be counted and kept raw instead of being stored as e-mail
events with a phone number for an address.

Pure: stdlib only. The address test is a few ``str`` operations on a bounded string, never a
regex (the project once had a quadratic one).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeGuard

#: an e-mail delivery report or tracking event: what ``domain.parsing`` reads
EMAIL = "EMAIL"
#: an account-level e-mail event (``eventDetails.type``), not about one message
EMAIL_PLATFORM = "EMAIL_PLATFORM"
#: SMS delivery report, API v2 (``smsCount`` with a phone ``to``: ``sms_dlr_v2_webhook.json``)
SMS = "SMS"
#: SMS v3 or Viber delivery report: the two share a shape (``messageCount``, ``mccMnc``,
#: ``sender``, ``platform``) and nothing in an item tells them apart
SMS_OR_VIBER = "SMS_OR_VIBER"
#: WhatsApp delivery report (``contact`` object: ``whatsapp_dlr_webhook.json``)
WHATSAPP = "WHATSAPP"
#: WhatsApp seen report (``seenAt``, no ``status``: ``whatsapp_seen_report_webhook.json``)
WHATSAPP_SEEN = "WHATSAPP_SEEN"
#: Messages API report (``event`` with ``destination`` instead of ``to``)
MESSAGES_API = "MESSAGES_API"
#: SMS click tracking (``notificationType`` with a phone ``recipient``:
#: ``sms_click_tracking_webhook.json``)
SMS_CLICK = "SMS_CLICK"
#: a delivery report to a phone number whose channel nothing else names
PHONE = "PHONE"
#: a blocklist event of a channel: ``BLOCKLIST_EMAIL``, ``BLOCKLIST_SMS``, ...
BLOCKLIST_PREFIX = "BLOCKLIST_"
#: none of the above: kept raw for an operator
UNKNOWN = "UNKNOWN"

#: RFC 5321's limit on a forward path; anything longer is not an address we sent to
_MAX_ADDRESS = 254
#: E.164 numbers have at most 15 digits; short codes (``10950`` in ``blocklists_get_response``)
#: have as few as 3
_PHONE_DIGITS = (3, 15)
#: blocklist webhook events (``blocklist_event_webhook__...json``)
_BLOCKLIST_EVENTS = frozenset({"BLOCK", "UNBLOCK"})


def is_email_item(item: object) -> bool:
    """Return True when ``item`` (a ``results[]`` item or a bare body) is an e-mail event."""
    return channel_of(item) == EMAIL


def channel_of(item: object) -> str:
    """Return the channel of a ``results[]`` item or bare body: :data:`EMAIL`, or another."""
    if not isinstance(item, Mapping):
        return UNKNOWN
    if "notificationType" in item:
        return _tracking_channel(item.get("recipient"))
    event = item.get("event")
    content = item.get("content")
    if isinstance(event, str) and event.upper() in _BLOCKLIST_EVENTS and _is_mapping(content):
        return BLOCKLIST_PREFIX + (_channel_name(content.get("channel")) or UNKNOWN)
    if "destination" in item and ("event" in item or "channel" in item):
        return MESSAGES_API
    details = item.get("eventDetails")
    if _is_mapping(details) and isinstance(details.get("type"), str):
        return EMAIL_PLATFORM
    return _report_channel(item)


def _tracking_channel(recipient: object) -> str:
    if looks_like_address(recipient):
        return EMAIL
    return SMS_CLICK if looks_like_phone(recipient) else UNKNOWN


def _report_channel(item: Mapping[str, Any]) -> str:
    channel = _channel_name(item.get("channel"))
    if channel is not None and channel != EMAIL:
        return channel  # RCS reports name theirs (RCS, or SMS after a failover)
    to = item.get("to")
    if "seenAt" in item and "status" not in item:
        return WHATSAPP_SEEN
    if looks_like_address(to):
        return EMAIL
    if not looks_like_phone(to):
        return UNKNOWN
    if _is_mapping(item.get("contact")):
        return WHATSAPP
    if "smsCount" in item:
        return SMS
    if "mccMnc" in item or "sender" in item or "platform" in item:
        return SMS_OR_VIBER
    return PHONE


def looks_like_address(value: object) -> bool:
    """Return True for a string shaped like ``local@domain.tld`` (bounded, no regex).

    Not a validator: it tells an address from a phone number or an id, cheaply.
    """
    if type(value) is not str:
        return False
    text = value.strip()
    if not 5 <= len(text) <= _MAX_ADDRESS:
        return False
    local, at, domain = text.rpartition("@")
    if not at or not local or " " in text:
        return False
    dot = domain.find(".")
    return 0 < dot < len(domain) - 1 and not domain.endswith(".")


def looks_like_phone(value: object) -> bool:
    """Return True for a phone number or short code: digits, an optional leading ``+``."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        value = str(value)
    if type(value) is not str:
        return False
    digits = value.strip().removeprefix("+")
    low, high = _PHONE_DIGITS
    return low <= len(digits) <= high and digits.isascii() and digits.isdigit()


def _channel_name(value: object) -> str | None:
    if type(value) is not str or not value.strip() or len(value) > 40:
        return None
    return value.strip().upper()


def _is_mapping(value: object) -> TypeGuard[Mapping[str, Any]]:
    return isinstance(value, Mapping)
