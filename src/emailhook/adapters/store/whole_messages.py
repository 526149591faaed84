"""Outbox documents read whole: a campaign's rows hold only their recipient's own part of the
campaign's message (``domain.sending.campaign_message``), made whole here with the campaign's
message, read once per campaign however many of its rows are read."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from emailhook.adapters.db.models import Campaign, OutboxMessage
from emailhook.domain.sending.campaign_message import message_of, whole
from emailhook.domain.sending.message import OutgoingMessage


class WholeMessages:
    """Reads outbox rows' messages whole, within one session."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._shared: dict[str, dict[str, Any] | None] = {}

    def document(self, row: OutboxMessage) -> Mapping[str, Any]:
        """Return ``row``'s message as the outbox's document (``OutgoingMessage.as_json``'s
        shape, its ``route`` too), placeholders rendered."""
        shared = self._shared_of(row.campaign_id)
        return row.document if shared is None else whole(shared, row.document)

    def message(self, row: OutboxMessage) -> OutgoingMessage:
        """Return ``row``'s message, placeholders rendered: what is sent."""
        return message_of(self._shared_of(row.campaign_id), row.document)

    def _shared_of(self, campaign_id: str | None) -> dict[str, Any] | None:
        if campaign_id is None:
            return None
        if campaign_id not in self._shared:
            self._shared[campaign_id] = self._session.execute(
                select(Campaign.message).where(Campaign.public_id == campaign_id)
            ).scalar_one_or_none()
        return self._shared[campaign_id]
