"""The derived status of every provider's events from the one vocabulary, and Infobip's
vocabulary agreeing with its own (unchanged) classification."""

from __future__ import annotations

import itertools

import pytest

from emailhook.domain.email_status import (
    HARD_BOUNCE_CODES,
    PROVIDER_SUPPRESSION_CODES,
    SOFT_BOUNCE_CODES,
    EmailStatus,
    classify,
    classify_event,
    classify_vocabulary,
)
from emailhook.domain.statuses import EVENT_STATUSES
from emailhook.domain.vocabulary import ALREADY_SUPPRESSED, BounceClass, EventType, RejectReason
from emailhook.providers.infobip.parsing import vocabulary


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


ERRORS = sorted({0, 1, *HARD_BOUNCE_CODES, *SOFT_BOUNCE_CODES, *PROVIDER_SUPPRESSION_CODES})
GRID = list(
    itertools.product([*EVENT_STATUSES, "SOMETHING_NEW"], [*ERRORS, None], [True, False, None])
)


@pytest.mark.parametrize(("status", "error_id", "permanent"), GRID)
def test_infobip_events_are_classified_as_before_whatever_their_vocabulary(
    status: str, error_id: int | None, permanent: bool | None
) -> None:
    event_type, bounce_class, reason = vocabulary(status, error_id, permanent)
    assert classify_event(
        "infobip",
        status,
        error_id,
        permanent,
        event_type=event_type,
        bounce_class=bounce_class,
        reject_reason=reason,
    ) is classify(status, error_id, permanent)


@pytest.mark.parametrize(("status", "error_id", "permanent"), GRID)
def test_infobips_vocabulary_says_what_its_classification_says(
    status: str, error_id: int | None, permanent: bool | None
) -> None:
    # Read from the vocabulary alone (as for any provider), Infobip's events land where its
    # own classification puts them, but for the statuses only Infobip has.
    derived = classify_vocabulary(*vocabulary(status, error_id, permanent))
    own = classify(status, error_id, permanent)
    infobip_only = {
        EmailStatus.EXPIRED: EmailStatus.REJECTED,  # failed: not sent, not the address
        EmailStatus.LATE_BOUNCE: EmailStatus.HARD_BOUNCE,
    }
    assert derived is infobip_only.get(own, own)
