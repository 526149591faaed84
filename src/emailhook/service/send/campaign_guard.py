"""The campaign guard, a worker's periodic job: each running campaign's rates per message
(``domain.sending.guards``) from the events that came back, and its sending domain's (every
message sent from the domain in the rolling window, a campaign's or not); past a warning
threshold the campaign shows the warning (and it is logged), past a pause threshold the
campaign is paused, saying why, until an operator resumes it. A resume acknowledges what
paused it: from then on the guards judge the messages sent after it (the domain's too), so
the same complaints do not pause it again at once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from emailhook.adapters.store import campaigns, guards
from emailhook.domain.clock import utcnow
from emailhook.domain.sending.guards import (
    Action,
    GuardRule,
    Outcomes,
    judge,
    judge_domain,
)

log = logging.getLogger("emailhook.send.campaign_guard")


def _ignore(scope: str, action: str) -> None:
    pass


class CampaignGuard:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        rule: GuardRule,
        clock: Callable[[], datetime] = utcnow,
        on_verdict: Callable[[str, str], None] = _ignore,
    ) -> None:
        """``on_verdict(scope, action)``: told of each pause and each new warning (metrics);
        ``scope`` is campaign or domain."""
        self._sessions = sessions
        self._rule = rule
        self._clock = clock
        self._on_verdict = on_verdict

    def run(self) -> list[str]:
        """Judge every running campaign and its sending domain; return the ids of those it
        paused."""
        now = self._clock()
        with self._sessions.begin() as session:
            found = guards.running(session)
        paused = []
        #: a domain's outcomes from a start (the window's, or a campaign's resume after it)
        by_domain: dict[tuple[str, datetime], Outcomes] = {}
        for campaign in found:
            with self._sessions.begin() as session:
                own = campaigns.outcomes(session, campaign.public_id, campaign.guarded_since)
                verdicts = {"campaign": judge(own, self._rule)}
                if campaign.domain is not None:
                    start = self._domain_start(now, campaign.guarded_since)
                    key = (campaign.domain, start)
                    if key not in by_domain:
                        by_domain[key] = guards.domain_outcomes(session, *key)
                    hours = (now - start).total_seconds() / 3600
                    verdicts["domain"] = judge_domain(
                        campaign.domain, hours, by_domain[key], self._rule
                    )
                pause = next((v for v in verdicts.items() if v[1].action is Action.PAUSE), None)
                if pause is not None:
                    scope, reason = pause[0], str(pause[1].reason)
                    if campaigns.pause(session, campaign.public_id, reason, now):
                        paused.append(campaign.public_id)
                        log.error("paused campaign %s: %s", campaign.public_id, reason)
                        self._on_verdict(scope, Action.PAUSE.value)
                    continue
                warned = {s: v for s, v in verdicts.items() if v.action is Action.WARN}
                warning = "; ".join(str(v.reason) for v in warned.values()) or None
                if warning != campaign.warning:
                    guards.warn(session, campaign.public_id, warning)
                    if warning is not None:
                        log.warning("campaign %s: %s", campaign.public_id, warning)
                    if campaign.warning is None:  # counted once a warning begins
                        for scope in warned:
                            self._on_verdict(scope, Action.WARN.value)
        return paused

    def _domain_start(self, now: datetime, since: datetime | None) -> datetime:
        start = now - timedelta(hours=self._rule.domain_window_hours)
        return max(start, since) if since is not None else start
