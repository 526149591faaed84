"""Events the send side records of its own messages, through the receive side's one path:
stored exactly once by their key, then contact state, the suppression list, the rollup and the
message's flags moved (``derived.record``).

Two kinds: a one-click unsubscribe (emailhook's own event) and a provider's synchronous refusal
of a recipient (that provider's event: its answer said so, no webhook will).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from emailhook.adapters.store import derived
from emailhook.adapters.store.events import insert_prepared, prepare_events
from emailhook.domain.callback_data import callback_fields
from emailhook.domain.events import EmailEvent, EventKind
from emailhook.domain.inbox import Provenance
from emailhook.domain.suppression import SoftBounceRule
from emailhook.domain.vocabulary import BounceClass, EventType, RejectReason
from emailhook.providers.base import event_key


def message_event(
    *,
    provider: str,
    key: str,
    public_id: str,
    email: str,
    metadata: Mapping[str, Any],
    event_type: EventType,
    status: str,
    at: datetime,
    raw: dict[str, Any],
    batch_id: str | None = None,
    sent_at: datetime | None = None,
    kind: EventKind = EventKind.DELIVERY_REPORT,
    bounce_class: BounceClass | None = None,
    reject_reason: RejectReason | None = None,
    description: str | None = None,
) -> EmailEvent:
    """Return the event ``provider`` gives of message ``public_id``, keyed ``key`` (one event
    of that key is ever stored), with the message's metadata as its callback data."""
    fields = callback_fields(dict(metadata))
    return EmailEvent(
        event_key=event_key(provider, key, public_id),
        kind=kind,
        status=status,
        email=email,
        message_id=public_id,
        bulk_id=batch_id,
        provider_event_id=None,
        qj_contact_id=fields["qj_contact_id"],
        event_at=at,
        sent_at=sent_at,
        status_description=description,
        campaign=fields["campaign"],
        creditor_id=fields["creditor_id"],
        creditor_name=fields["creditor_name"],
        callback_data={**metadata, "emailhook_id": public_id},
        raw=raw,
        provider=provider,
        event_type=event_type,
        bounce_class=bounce_class,
        reject_reason=reject_reason,
    )


def store(
    session: Session, events: list[EmailEvent], received_at: datetime, rule: SoftBounceRule
) -> int:
    """Store ``events`` (those not stored before) and move what they derive; return how many
    were new."""
    if not events:
        return 0
    dialect = session.get_bind().dialect.name
    stored = insert_prepared(
        session, prepare_events([(e, Provenance(None, received_at)) for e in events], dialect)
    )
    derived.record(session, stored, rule)
    return len(stored)
