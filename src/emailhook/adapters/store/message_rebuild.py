"""Messages rebuilt from the stored events: every flag off, the rollup emptied, the campaign
tally's outcomes zeroed, every event replayed through
:func:`~emailhook.adapters.store.messages.record_sightings` (``emailhook state rebuild``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from emailhook.adapters.db.models import EmailCallback, Message, MessageRollup
from emailhook.adapters.store import campaign_tally
from emailhook.adapters.store.message_join import COLUMN_OF, Sighting
from emailhook.adapters.store.messages import PUBLIC_ID_FIELD, record_sightings
from emailhook.domain.callback_data import parse_callback_data


def rebuild_messages(session: Session, batch_size: int = 20000) -> int:
    """Turn every flag off, empty the rollup and replay every stored event; return the
    events read. Message rows themselves stay (the send pipeline's among them)."""
    session.execute(delete(MessageRollup))
    session.execute(update(Message).values(dict.fromkeys(COLUMN_OF.values())))
    campaign_tally.reset_outcomes(session)
    after, total = 0, 0
    columns = (
        EmailCallback.id,
        EmailCallback.provider,
        EmailCallback.id_externo,
        EmailCallback.email,
        EmailCallback.callback_data,
        EmailCallback.data_recebimento,
        EmailCallback.event_type,
        EmailCallback.qj_contact_id,
        EmailCallback.campaign,
        EmailCallback.creditor_id,
        EmailCallback.creditor_name,
        EmailCallback.bounce_class,
    )
    while True:
        rows = session.execute(
            select(*columns)
            .where(EmailCallback.id > after)
            .order_by(EmailCallback.id)
            .limit(batch_size)
        ).all()
        if not rows:
            return total
        record_sightings(session, [row_sighting(row) for row in rows])
        after, total = rows[-1][0], total + len(rows)


def row_sighting(row: Any) -> Sighting:
    data = row.callback_data if isinstance(row.callback_data, dict) else None
    data = data or parse_callback_data(row.callback_data) or {}
    public_id = data.get(PUBLIC_ID_FIELD)
    return Sighting(
        provider=row.provider,
        provider_message_id=row.id_externo,
        email=row.email,
        public_id=public_id if isinstance(public_id, str) and public_id else None,
        received_at=row.data_recebimento,
        event_type=row.event_type,
        qj_contact_id=row.qj_contact_id,
        campaign=row.campaign,
        creditor_id=row.creditor_id,
        creditor_name=row.creditor_name,
        bounce_class=row.bounce_class,
        event_id=row.id,
    )
