"""The derived status of every provider's events from the one vocabulary, Infobip's too: its
special cases are facts of its vocabulary, not branches on its name."""

from __future__ import annotations

import itertools

import pytest

from emailhook.domain.email_status import EmailStatus, classify_vocabulary
from emailhook.domain.statuses import EVENT_STATUSES
from emailhook.domain.suppression import SUPPRESSING_STATUSES, SuppressionReason
from emailhook.domain.vocabulary import ALREADY_SUPPRESSED, BounceClass, EventType, RejectReason
from emailhook.providers.infobip.mapping import (
    HARD_BOUNCE_CODES,
    SOFT_BOUNCE_CODES,
    SUPPRESSION_REASONS,
    vocabulary,
)


@pytest.mark.parametrize(
    ("bounce_class", "status"),
    [
        (BounceClass.HARD, EmailStatus.HARD_BOUNCE),
        (BounceClass.SOFT, EmailStatus.SOFT_BOUNCE),
        # not the address's fault (reputation, content): counted as soft, never hard alone
        (BounceClass.BLOCK, EmailStatus.SOFT_BOUNCE),
        (BounceClass.UNDETERMINED, EmailStatus.SOFT_BOUNCE),
        (None, EmailStatus.SOFT_BOUNCE),
    ],
)
def test_a_bounce_is_hard_only_when_its_class_says_so(
    bounce_class: BounceClass | None, status: EmailStatus
) -> None:
    assert classify_vocabulary(EventType.BOUNCED, bounce_class, None) is status


@pytest.mark.parametrize("reason", sorted(ALREADY_SUPPRESSED))
def test_a_drop_of_an_address_the_provider_suppresses_is_suppressed(reason: RejectReason) -> None:
    assert classify_vocabulary("rejected", None, reason) is EmailStatus.SUPPRESSED
    # whatever class the provider gave the drop, it is not a new bounce
    assert classify_vocabulary("rejected", "hard", reason.value) is EmailStatus.SUPPRESSED


@pytest.mark.parametrize("reason", [RejectReason.INVALID, RejectReason.OTHER, None])
def test_other_rejections_and_failures_are_not_the_addresss_fault(
    reason: RejectReason | None,
) -> None:
    assert classify_vocabulary(EventType.REJECTED, None, reason) is EmailStatus.REJECTED
    assert classify_vocabulary(EventType.FAILED, None, None) is EmailStatus.REJECTED


@pytest.mark.parametrize(
    ("event_type", "status"),
    [
        (EventType.QUEUED, EmailStatus.PENDING),
        (EventType.SENT, EmailStatus.PENDING),
        (EventType.DEFERRED, EmailStatus.PENDING),
        (EventType.DELIVERED, EmailStatus.DELIVERED),
        (EventType.AUTORESPONDED, EmailStatus.DELIVERED),
        (EventType.OPENED, EmailStatus.OPENED),
        (EventType.CLICKED, EmailStatus.CLICKED),
        (EventType.COMPLAINED, EmailStatus.COMPLAINED),
        (EventType.UNSUBSCRIBED, EmailStatus.UNSUBSCRIBED),
        (EventType.SUBSCRIBED, EmailStatus.UNBLOCKED),  # a resubscribe lifts an unsubscribe
        (EventType.UNKNOWN, EmailStatus.UNKNOWN),
        ("a-word-of-a-later-version", EmailStatus.UNKNOWN),
        (None, EmailStatus.UNKNOWN),
    ],
)
def test_every_other_event_type_has_its_status(
    event_type: EventType | str | None, status: EmailStatus
) -> None:
    assert classify_vocabulary(event_type, None, None) is status


ERRORS = sorted({0, 1, *HARD_BOUNCE_CODES, *SOFT_BOUNCE_CODES, *SUPPRESSION_REASONS})
GRID = list(
    itertools.product([*EVENT_STATUSES, "SOMETHING_NEW"], [*ERRORS, None], [True, False, None])
)

#: what Infobip's own classification (before issue 23) said of each of its events: its
#: statuses, bounces by error.permanent, then by code, refusals with its suppression codes
_REFUSALS = ("UNDELIVERABLE", "REJECTED")
_ONE_TO_ONE = {
    "PENDING": EmailStatus.PENDING,
    "DELIVERED": EmailStatus.DELIVERED,
    "REJECTED": EmailStatus.REJECTED,
    "OPENED": EmailStatus.OPENED,
    "CLICKED": EmailStatus.CLICKED,
    "UNSUBSCRIBED": EmailStatus.UNSUBSCRIBED,
    "COMPLAINED": EmailStatus.COMPLAINED,
    "BLOCK": EmailStatus.UNSUBSCRIBED,
    "UNBLOCK": EmailStatus.UNBLOCKED,
    # the two statuses only Infobip had, now read from the vocabulary like everyone's
    "EXPIRED": EmailStatus.REJECTED,  # failed: not sent, not the address's fault
    "LATE_BOUNCE": EmailStatus.HARD_BOUNCE,  # bounced, hard
}


def _as_before(status: str, error_id: int | None, permanent: bool | None) -> EmailStatus:
    if error_id in SUPPRESSION_REASONS and status in _REFUSALS:
        return EmailStatus.SUPPRESSED
    if status == "UNDELIVERABLE":
        hard = permanent if permanent is not None else error_id in HARD_BOUNCE_CODES
        return EmailStatus.HARD_BOUNCE if hard else EmailStatus.SOFT_BOUNCE
    return _ONE_TO_ONE.get(status, EmailStatus.UNKNOWN)


@pytest.mark.parametrize(("status", "error_id", "permanent"), GRID)
def test_infobips_events_land_where_its_own_classification_put_them_but_two_statuses(
    status: str, error_id: int | None, permanent: bool | None
) -> None:
    # Read from the vocabulary alone (as for any provider), Infobip's events land where its
    # own classification put them, but EXPIRED (now REJECTED) and LATE_BOUNCE (HARD_BOUNCE).
    assert classify_vocabulary(*vocabulary(status, error_id, permanent)) is _as_before(
        status, error_id, permanent
    )


@pytest.mark.parametrize(
    ("infobip", "words", "status", "suppressed_for"),
    [
        # its own-suppression codes: a rejection with the reason it suppresses for
        (("REJECTED", 6003, None), ("rejected", None, "unsubscribed"), EmailStatus.SUPPRESSED,
         SuppressionReason.PROVIDER_SUPPRESSION),
        (("UNDELIVERABLE", 6034, True), ("rejected", None, "bounced"), EmailStatus.SUPPRESSED,
         SuppressionReason.PROVIDER_SUPPRESSION),
        (("UNDELIVERABLE", 6035, None), ("rejected", None, "spam"), EmailStatus.SUPPRESSED,
         SuppressionReason.PROVIDER_SUPPRESSION),
        # a late bounce: bounced, hard
        (("LATE_BOUNCE", None, None), ("bounced", "hard", None), EmailStatus.HARD_BOUNCE,
         SuppressionReason.HARD_BOUNCE),
        # an expiry: failed, timed out; not the address's fault
        (("EXPIRED", None, None), ("failed", None, "timed_out"), EmailStatus.REJECTED, None),
    ],
)  # fmt: skip
def test_infobips_special_cases_are_facts_of_its_vocabulary_read_as_anyones(
    infobip: tuple[str, int | None, bool | None],
    words: tuple[str, str | None, str | None],
    status: EmailStatus,
    suppressed_for: SuppressionReason | None,
) -> None:
    assert tuple(w and str(w) for w in vocabulary(*infobip)) == words
    # the same words from any provider give the same status and the same suppression
    assert classify_vocabulary(*words) is status
    assert SUPPRESSING_STATUSES.get(status) is suppressed_for
