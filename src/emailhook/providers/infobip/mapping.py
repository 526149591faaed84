"""Infobip's words -> the one vocabulary: its one classification (anymail's mapping tables).

The derived state reads only what these give (``email_status.classify_vocabulary``), so each of
Infobip's special cases is a fact of the vocabulary here, never a branch on its name elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping

from emailhook.domain.vocabulary import BounceClass, EventType, RejectReason

#: Infobip's status (a report's group, or a tracking event's type) -> the event type; the
#: refusals depend on the error (``vocabulary``)
EVENT_TYPES: Mapping[str, EventType] = {
    "DELIVERED": EventType.DELIVERED,
    "PENDING": EventType.QUEUED,  #: sent to Infobip, no final report yet
    "UNDELIVERABLE": EventType.BOUNCED,  #: refused by the receiving side: hard or soft
    "REJECTED": EventType.REJECTED,  #: refused by Infobip before sending (credit, policy)
    "EXPIRED": EventType.FAILED,  #: no final report before the validity ran out
    "OPENED": EventType.OPENED,
    "CLICKED": EventType.CLICKED,
    "UNSUBSCRIBED": EventType.UNSUBSCRIBED,
    "COMPLAINED": EventType.COMPLAINED,
    "LATE_BOUNCE": EventType.BOUNCED,  #: bounced after DELIVERED: always hard
    "BLOCK": EventType.UNSUBSCRIBED,  #: the blocklist's (a cross-channel unsubscribe)
    "UNBLOCK": EventType.SUBSCRIBED,
}

#: Infobip refused to send because of an earlier event (``suppressed_bounce.json``): a
#: rejection, with the provider's reason; the address stays suppressed, no new bounce
SUPPRESSION_REASONS: Mapping[int, RejectReason] = {
    6003: RejectReason.UNSUBSCRIBED,
    6034: RejectReason.BOUNCED,
    6035: RejectReason.SPAM,
}


#: Permanent errors, for reports that do not say ``error.permanent``: invalid address,
#: mailbox permanently unavailable, hard bounce, domain without MX.
HARD_BOUNCE_CODES: frozenset[int] = frozenset({6006, 6009, 6012, 6037})
#: Temporary errors, likewise: mailbox temporarily unavailable, inbox full, soft bounce,
#: provider internal error. An UNDELIVERABLE report with neither flag nor known code is soft:
#: a hard bounce suppresses the address for good, so it needs evidence.
SOFT_BOUNCE_CODES: frozenset[int] = frozenset({6007, 6010, 6011, 6013})


def vocabulary(
    status: str | None, error_id: int | None, error_permanent: bool | None
) -> tuple[EventType, BounceClass | None, RejectReason | None]:
    """Return (event type, bounce class, reject reason) of an Infobip event: Infobip's one
    classification; the derived state reads only these (``email_status.classify_vocabulary``).

    Its special cases are facts of the vocabulary: a refusal with one of its own-suppression
    codes is ``rejected`` with the reason it suppresses for (so SUPPRESSED, a provider
    suppression); an UNDELIVERABLE is hard by ``error.permanent``, else by its code; a
    LATE_BOUNCE is ``bounced``, ``hard``; an EXPIRED ``failed``, ``timed_out`` (anymail's
    word for a message whose validity ran out).
    """
    reason = SUPPRESSION_REASONS.get(error_id) if error_id is not None else None
    if reason is not None and status in ("UNDELIVERABLE", "REJECTED"):
        return EventType.REJECTED, None, reason
    event_type = EVENT_TYPES.get(status or "", EventType.UNKNOWN)
    if status == "LATE_BOUNCE":
        return event_type, BounceClass.HARD, None
    if status == "EXPIRED":
        return event_type, None, RejectReason.TIMED_OUT
    if status == "UNDELIVERABLE":
        # error.permanent decides first; the code only when the flag is missing
        hard = error_permanent if error_permanent is not None else error_id in HARD_BOUNCE_CODES
        return event_type, BounceClass.HARD if hard else BounceClass.SOFT, None
    return event_type, None, None
