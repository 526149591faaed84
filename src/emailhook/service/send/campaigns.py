"""Campaigns: one message to many recipients, uploaded as JSON Lines (``campaign_upload``),
then paced, paused, resumed and cancelled as one. No cursor is kept: the outbox's
per-message state is the checkpoint, so a pause and a resume neither skip nor repeat."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from emailhook.adapters.reads.campaign_report import report_chunks
from emailhook.adapters.store import campaigns, guards, outbox
from emailhook.domain.clock import utcnow
from emailhook.domain.sending.campaign import DONE, CampaignState
from emailhook.domain.sending.guards import GuardRule
from emailhook.domain.sending.message import SendState
from emailhook.service.errors import ConflictError, NotFoundError
from emailhook.service.send.accept import Answer, SendApi
from emailhook.service.send.campaign_upload import CampaignUpload
from emailhook.service.send.campaign_writer import CHUNK

log = logging.getLogger("emailhook.send.campaigns")


class Campaigns:
    """Accepts campaigns into the outbox (``CampaignUpload``) and steers them."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        api: SendApi,
        *,
        chunk: int = CHUNK,
        clock: Callable[[], datetime] = utcnow,
        guards: GuardRule | None = None,
    ) -> None:
        """``guards``: the thresholds a campaign's rates are shown beside (default: the
        settings' defaults)."""
        self._guards = guards or GuardRule()
        self._sessions = sessions
        self._upload = CampaignUpload(sessions, api, chunk=chunk, clock=clock)
        self._clock = clock

    def create(self, lines: Iterable[bytes], key: str | None = None) -> Answer:
        """Accept an upload: ``CampaignUpload.create``."""
        return self._upload.create(lines, key)

    def create_from(
        self, message: bytes, recipients: Iterable[bytes], kind: str, key: str | None = None
    ) -> Answer:
        """Accept a message and a CSV or JSON Lines file: ``CampaignUpload.create_from``."""
        return self._upload.create_from(message, recipients, kind, key)

    def pause(self, public_id: str, reason: str | None) -> dict[str, Any]:
        """Pause a running campaign: none of its messages is published or taken until it is
        resumed (those a worker holds end as their call does). Again: nothing changes."""
        with self._sessions.begin() as session:
            row = self._found(session, public_id)
            paused = row.state == CampaignState.PAUSED.value or campaigns.pause(
                session, public_id, reason or "paused by the sender", self._clock()
            )  # the one way to pause, the guards' too
            if not paused:
                raise ConflictError(f"the campaign is {row.state}: it cannot be paused")
        log.info("paused campaign %s: %s", public_id, reason)
        return self.show(public_id)

    def resume(self, public_id: str) -> dict[str, Any]:
        """Let a paused campaign's messages go again: each not yet sent is sent once (the
        outbox's per-message state is the checkpoint)."""
        with self._sessions.begin() as session:
            row = self._found(session, public_id)
            if row.state == CampaignState.PAUSED.value:
                row.state = CampaignState.RUNNING.value
                row.pause_reason = None
                row.updated_at = self._clock()
                row.guarded_since = row.updated_at  # the guards judge what is sent from now
                campaigns.republish_queued(session, public_id)
            elif row.state != CampaignState.RUNNING.value:
                raise ConflictError(f"the campaign is {row.state}: it cannot be resumed")
        log.info("resumed campaign %s", public_id)
        return self.show(public_id)

    def cancel(self, public_id: str) -> dict[str, Any]:
        """Cancel a campaign: its queued and scheduled messages end ``cancelled``."""
        with self._sessions.begin() as session:
            row = self._found(session, public_id)
            if row.state != CampaignState.CANCELLED.value:
                now = self._clock()
                row.state = CampaignState.CANCELLED.value
                row.updated_at = now
                cancelled = campaigns.cancel_unsent(session, public_id, now)
                log.info("cancelled campaign %s: %d messages", public_id, cancelled)
        return self.show(public_id)

    def show(self, public_id: str) -> dict[str, Any]:
        """Return the campaign: its state (``done`` once running with nothing left to send),
        pause reason, rate, the upload's counts and its messages by outbox state."""
        with self._sessions.begin() as session:
            row = self._found(session, public_id, lock=False)
            by_state = campaigns.counts(session, public_id)
            since = row.guarded_since
            judged = campaigns.outcomes(session, public_id, since)
            state = row.state
            if state == CampaignState.RUNNING.value and not any(
                by_state.get(s.value) for s in outbox.OPEN_STATES
            ):
                state = DONE
            return {
                "id": row.public_id,
                "state": state,
                "pause_reason": row.pause_reason,
                "rate": row.rate,
                "provider": row.provider,
                "created_at": row.created_at.isoformat(),
                "recipients": row.recipients,
                "duplicates": row.duplicates,
                "suppressed": row.suppressed,
                "messages": {s.value: by_state.get(s.value, 0) for s in SendState},
                "guards": {
                    "since": since.isoformat() if since else None,
                    "delivered": judged.delivered,
                    "complaint_rate": judged.complaint_rate,
                    "hard_bounce_rate": judged.hard_bounce_rate,
                    "complaint_warn": self._guards.complaint_warn,
                    "complaint_pause": self._guards.complaint_pause,
                    "hard_bounce_pause": self._guards.hard_bounce_pause,
                    "min_delivered": self._guards.min_delivered,
                    "warning": row.guard_warning,
                    "domain": self._domain(session, public_id, since),
                },
            }

    def report(self, public_id: str) -> Iterator[list[tuple[object, ...]]]:
        """Return campaign ``public_id``'s report (``campaign_report.COLUMNS``), a chunk of
        rows at a time, read as it is iterated; raise NotFoundError first if there is none."""
        with self._sessions.begin() as session:
            self._found(session, public_id, lock=False)
        return report_chunks(self._sessions, public_id)

    def _domain(
        self, session: Session, public_id: str, since: datetime | None
    ) -> dict[str, Any] | None:
        """Return the campaign's sending domain's rates as the domain guard judges them (in
        its window, or since the campaign's resume if later); None when not known."""
        domain = guards.sending_domain(session, public_id)
        if domain is None:
            return None
        start = self._clock() - timedelta(hours=self._guards.domain_window_hours)
        start = max(start, since) if since is not None else start
        judged = guards.domain_outcomes(session, domain, start)
        return {
            "name": domain,
            "since": start.isoformat(),
            "window_hours": self._guards.domain_window_hours,
            "delivered": judged.delivered,
            "complaint_rate": judged.complaint_rate,
            "hard_bounce_rate": judged.hard_bounce_rate,
        }

    @staticmethod
    def _found(session: Session, public_id: str, *, lock: bool = True) -> Any:
        row = campaigns.locked(session, public_id) if lock else campaigns.get(session, public_id)
        if row is None or row.state == CampaignState.UPLOADING.value:
            raise NotFoundError(f"no campaign {public_id}")
        return row
