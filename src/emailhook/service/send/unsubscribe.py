"""One-click unsubscribe (RFC 8058): a signed token names one message; posting it suppresses
the message's recipient at once and records an ``unsubscribed`` event of that message.

The event is emailhook's own (``provider`` ``emailhook``), stored through the same path as a
provider's (exactly once by its key, contact state, the suppression list with source
``emailhook``, the message's flags): a second post finds it stored and changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from emailhook.adapters.db.models import OutboxMessage
from emailhook.adapters.store import derived
from emailhook.adapters.store.events import insert_prepared, prepare_events
from emailhook.domain.callback_data import callback_fields
from emailhook.domain.clock import utcnow
from emailhook.domain.events import EmailEvent, EventKind
from emailhook.domain.inbox import Provenance
from emailhook.domain.sending import unsubscribe_tokens
from emailhook.domain.suppression import SoftBounceRule
from emailhook.domain.vocabulary import EventType
from emailhook.providers.base import event_key
from emailhook.service.errors import NotFoundError

log = logging.getLogger("emailhook.send.unsubscribe")

#: the ``provider`` of emailhook's own events
EMAILHOOK = "emailhook"
#: the path of a message's unsubscribe link
PATH = "/unsubscribe/"


def link_headers(public_url: str, secrets: Sequence[str]) -> Callable[[str], dict[str, str]]:
    """Return ``headers(public_id)``: a marketing message's List-Unsubscribe headers."""
    origin = public_url.rstrip("/")

    def headers(public_id: str) -> dict[str, str]:
        token = unsubscribe_tokens.sign(public_id, secrets)
        return {
            "List-Unsubscribe": f"<{origin}{PATH}{token}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }

    return headers


@dataclass(frozen=True, slots=True)
class Unsubscribed:
    email: str
    public_id: str
    #: False when this message's unsubscribe was already recorded
    new: bool


class Unsubscribe:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        secrets: Sequence[str],
        soft_bounces: SoftBounceRule,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._secrets = secrets
        self._soft_bounces = soft_bounces
        self._clock = clock

    def recipient(self, token: str) -> tuple[str, str]:
        """Return the public id and the address a token names; NotFoundError for a forged or
        foreign token."""
        public_id = unsubscribe_tokens.verify(token, self._secrets) if self._secrets else None
        if public_id is None:
            raise NotFoundError("no such unsubscribe link")
        with self._sessions.begin() as session:
            row = _message(session, public_id)
            if row is None:
                raise NotFoundError("no such unsubscribe link")
            return public_id, row.email

    def unsubscribe(self, token: str) -> Unsubscribed:
        """Suppress the address the token's message went to (reason ``unsubscribe``)."""
        public_id, _ = self.recipient(token)
        now = self._clock()
        with self._sessions.begin() as session:
            row = _message(session, public_id)
            assert row is not None
            metadata = dict(row.document.get("metadata") or {})
            fields = callback_fields(metadata)
            event = EmailEvent(
                event_key=event_key(EMAILHOOK, "unsubscribe", public_id),
                kind=EventKind.TRACKING,
                status="UNSUBSCRIBED",
                email=row.email,
                message_id=public_id,
                bulk_id=row.batch_id,
                provider_event_id=None,
                qj_contact_id=fields["qj_contact_id"],
                event_at=now,
                sent_at=row.sent_at,
                campaign=fields["campaign"],
                creditor_id=fields["creditor_id"],
                creditor_name=fields["creditor_name"],
                callback_data={**metadata, "emailhook_id": public_id},
                raw={"one_click": True, "message": public_id},
                provider=EMAILHOOK,
                event_type=EventType.UNSUBSCRIBED,
            )
            dialect = session.get_bind().dialect.name
            stored = insert_prepared(
                session, prepare_events([(event, Provenance(None, now))], dialect)
            )
            derived.record(session, stored, self._soft_bounces)
        log.info("one-click unsubscribe of message %s%s", public_id, "" if stored else " (again)")
        return Unsubscribed(row.email, public_id, bool(stored))


def _message(session: Session, public_id: str) -> OutboxMessage | None:
    return session.execute(
        select(OutboxMessage).where(OutboxMessage.public_id == public_id)
    ).scalar_one_or_none()
