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
from emailhook.adapters.store.whole_messages import WholeMessages
from emailhook.domain.clock import utcnow
from emailhook.domain.events import EventKind
from emailhook.domain.sending import unsubscribe_tokens
from emailhook.domain.suppression import SoftBounceRule
from emailhook.domain.vocabulary import EventType
from emailhook.service.errors import NotFoundError
from emailhook.service.send.own_events import message_event, store

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
            event = message_event(
                provider=EMAILHOOK,
                key="unsubscribe",
                public_id=public_id,
                email=row.email,
                metadata=WholeMessages(session).document(row).get("metadata") or {},
                event_type=EventType.UNSUBSCRIBED,
                status="UNSUBSCRIBED",
                at=now,
                raw={"one_click": True, "message": public_id},
                batch_id=row.batch_id,
                sent_at=row.sent_at,
                kind=EventKind.TRACKING,
            )
            stored = store(session, [event], now, self._soft_bounces)
        log.info("one-click unsubscribe of message %s%s", public_id, "" if stored else " (again)")
        return Unsubscribed(row.email, public_id, bool(stored))


def _message(session: Session, public_id: str) -> OutboxMessage | None:
    return session.execute(
        select(OutboxMessage).where(OutboxMessage.public_id == public_id)
    ).scalar_one_or_none()
