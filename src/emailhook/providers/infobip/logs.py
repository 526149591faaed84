"""Infobip's e-mail logs (``GET /email/4/logs``, and ``/email/1/logs``) read as the delivery
reports the webhook would have sent, for reconciliation.

A log item of a message with a final status becomes the very :class:`EmailEvent` its webhook
report gives: the same ``event_key`` (``domain.parsing.report_key`` over the same fields), the
same status, status and error fields. So reconciling stores only what the webhook lost, and a
report that arrives after its log was stored is a repeat.

How that is guaranteed: the item is re-shaped into the webhook's report (``destination`` ->
``to``, ``messageCount`` -> ``smsCount``, ``platform{}`` flattened) and read by
``domain.parsing`` itself, so the two paths cannot drift apart; ``raw`` keeps the log item as
pulled. Logs carry no ``callbackData`` (``SYNTH_email_v4_logs_response.json``): an event
stored from a log has no ``qj_contact_id``.

Pure: stdlib and the domain only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from emailhook.domain.callback_data import as_int
from emailhook.domain.events import EmailEvent
from emailhook.domain.statuses import STATUS_GROUPS
from emailhook.providers.infobip.parsing import parse_body

#: status groups after which a message's status no longer changes: only these are reconciled
#: (a PENDING report is replaced by a final one; reconciling it would add nothing lasting)
FINAL_GROUPS: frozenset[str] = frozenset({"DELIVERED", "UNDELIVERABLE", "EXPIRED", "REJECTED"})

#: log fields renamed into the webhook report's names (``infobip-pull-and-channels.md``)
_RENAMED: Mapping[str, str] = {
    "destination": "to",  #: v4 logs; v1 logs already say ``to``
    "messageCount": "smsCount",  #: the webhook calls it ``smsCount``, even for e-mail
}
#: log fields the webhook report does not have
_DROPPED: frozenset[str] = frozenset({"sender", "from", "text", "platform", "channel"})


@dataclass(frozen=True, slots=True)
class LogSkip:
    """A log item that gives no event, and why (for the run's report and the log)."""

    reason: str
    message_id: str | None = None


def log_event(item: object) -> EmailEvent | LogSkip:
    """Return the event of one log item, or why it gives none."""
    if not isinstance(item, Mapping):
        return LogSkip(f"log item is a JSON {type(item).__name__}, not an object")
    message_id = _text(item.get("messageId"))
    if message_id is None:
        return LogSkip("log item has no messageId")
    group = status_group(item)
    if group not in FINAL_GROUPS:
        return LogSkip(f"status {group or 'missing'} is not final", message_id)
    parsed = parse_body({"results": [as_report(item)]})
    if not parsed.events:  # rejected: only what the checks above already refuse
        if parsed.other_channels:  # a channel or a recipient that is not an e-mail address
            return LogSkip(f"set aside as {parsed.other_channels[0].channel}", message_id)
        reason = parsed.rejected[0].reason if parsed.rejected else "unreadable"
        return LogSkip(reason, message_id)
    return dataclasses.replace(parsed.events[0], raw=dict(item))


def status_group(item: Mapping[str, Any]) -> str | None:
    """Return the item's status group name (``groupName``, else from ``groupId``)."""
    status = item.get("status")
    if not isinstance(status, Mapping):
        return None
    name = _text(status.get("groupName"))
    if name:
        return name.upper()
    return STATUS_GROUPS.get(as_int(status.get("groupId")) or 0)


def as_report(item: Mapping[str, Any]) -> dict[str, Any]:
    """Return a log item in the shape of the webhook's delivery report of that message."""
    report: dict[str, Any] = {}
    for name, value in item.items():
        if name in _DROPPED:
            continue
        report[_RENAMED.get(name, name)] = value
    platform = item.get("platform")
    if isinstance(platform, Mapping):
        # the webhook report carries these at the top level (``sms_dlr_v2_webhook.json``)
        for name in ("entityId", "applicationId"):
            if name in platform:
                report.setdefault(name, platform[name])
    return report


def _text(value: object) -> str | None:
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    return str(value).strip() or None
