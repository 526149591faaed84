"""The campaign guard, a worker's periodic job: each running campaign's rates per message
(``domain.sending.guards``) from the events that came back; past a warning threshold it is
logged, past a pause threshold the campaign is paused, saying why, until an operator resumes
it. A resume acknowledges what paused it: from then on the guards judge the messages sent
after it, so the same complaints do not pause it again at once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from emailhook.adapters.store import campaigns
from emailhook.domain.clock import utcnow
from emailhook.domain.sending.guards import Action, GuardRule, judge

log = logging.getLogger("emailhook.send.campaign_guard")


class CampaignGuard:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        rule: GuardRule,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._rule = rule
        self._clock = clock

    def run(self) -> list[str]:
        """Judge every running campaign; return the ids of those it paused."""
        with self._sessions.begin() as session:
            ids = campaigns.running(session)
        paused = []
        for public_id, since in ids:
            with self._sessions.begin() as session:
                verdict = judge(campaigns.outcomes(session, public_id, since), self._rule)
                if verdict.action is Action.PAUSE and verdict.reason is not None:
                    if campaigns.pause(session, public_id, verdict.reason, self._clock()):
                        paused.append(public_id)
                        log.error("paused campaign %s: %s", public_id, verdict.reason)
                elif verdict.action is Action.WARN:
                    log.warning("campaign %s: %s", public_id, verdict.reason)
        return paused
