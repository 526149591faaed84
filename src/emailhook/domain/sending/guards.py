"""The guards that pause a campaign before the sender's reputation suffers: its rates per
message (complaints over messages delivered, hard bounces over messages with a final outcome)
against two thresholds each, a warning and a pause, once enough have been delivered to tell.

Gmail and Yahoo reject bulk mail from senders whose spam rate passes 0.3 % and want it under
0.1 % (``shared/docs/sending-anchors.md``); a list that hard-bounces 5 % is a list not kept.
The same rule judges a sending domain (every message from it in a rolling window), and a
provider's platform events (Infobip's HIGH_BOUNCE_RATE_*) pause the campaigns sending
through it. Pure: the worker reads the counts and acts on the verdict.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class GuardRule:
    #: complaints / delivered past which a warning is logged
    complaint_warn: float = 0.001
    #: complaints / delivered past which the campaign is paused
    complaint_pause: float = 0.003
    #: hard bounces / messages with a final outcome past which the campaign is paused
    hard_bounce_pause: float = 0.05
    #: rates say nothing before this many messages were delivered
    min_delivered: int = 1000
    #: the domain guard judges the messages sent from a domain in this many last hours
    domain_window_hours: float = 24.0


@dataclass(frozen=True, slots=True)
class Outcomes:
    """A campaign's messages so far, each counted once whatever its events."""

    delivered: int
    #: with a final outcome: delivered, bounced, rejected or failed
    final: int
    complained: int
    hard_bounced: int

    @property
    def complaint_rate(self) -> float | None:
        return self.complained / self.delivered if self.delivered else None

    @property
    def hard_bounce_rate(self) -> float | None:
        return self.hard_bounced / self.final if self.final else None


class Action(enum.StrEnum):
    KEEP = "keep"
    WARN = "warn"
    PAUSE = "pause"


@dataclass(frozen=True, slots=True)
class Verdict:
    action: Action
    #: why, in words an operator reads on the campaign (None when kept)
    reason: str | None = None


def judge(outcomes: Outcomes, rule: GuardRule) -> Verdict:
    """Return what to do with a running campaign whose messages came to ``outcomes``."""
    if outcomes.delivered < rule.min_delivered:
        return Verdict(Action.KEEP)
    complaints = outcomes.complaint_rate or 0.0
    hard = outcomes.hard_bounce_rate or 0.0
    if complaints > rule.complaint_pause:
        return Verdict(
            Action.PAUSE,
            f"complaints {_pct(complaints)} of {outcomes.delivered} delivered, past the"
            f" {_pct(rule.complaint_pause)} that pauses a campaign",
        )
    if hard > rule.hard_bounce_pause:
        return Verdict(
            Action.PAUSE,
            f"hard bounces {_pct(hard)} of {outcomes.final} with an outcome, past the"
            f" {_pct(rule.hard_bounce_pause)} that pauses a campaign",
        )
    if complaints > rule.complaint_warn:
        return Verdict(
            Action.WARN,
            f"complaints {_pct(complaints)} of {outcomes.delivered} delivered, past the"
            f" {_pct(rule.complaint_warn)} warning",
        )
    return Verdict(Action.KEEP)


def _pct(rate: float) -> str:
    return f"{rate * 100:.2f} %"


def judge_domain(domain: str, hours: float, outcomes: Outcomes, rule: GuardRule) -> Verdict:
    """Return what to do with the running campaigns sending from ``domain``, whose messages
    sent in the last ``hours`` came to ``outcomes`` (every message from the domain counts:
    a mailbox provider judges the domain, not the campaign)."""
    verdict = judge(outcomes, rule)
    if verdict.reason is None:
        return verdict
    return Verdict(verdict.action, f"sending domain {domain}, last {hours:.3g} h: {verdict.reason}")


def sender_domain(address: str | None) -> str | None:
    """Return the domain of a sender (``cobranca@example.com``, ``Name <a@Example.com>``),
    lower case; None when it has none."""
    if not address:
        return None
    inner = address.rsplit("<", 1)[-1].split(">", 1)[0]
    _, at, domain = inner.strip().rpartition("@")
    domain = domain.strip().rstrip(".").lower()
    return domain if at and domain else None


#: a provider's platform events that pause the campaigns sending through it: Infobip warns
#: (HIGH_BOUNCE_RATE_WARNING) before it blocks a domain for 24 h (HIGH_BOUNCE_RATE_BLOCKED,
#: error 6016): pausing on the warning is the last chance to keep the domain unblocked
PAUSING_PLATFORM_EVENTS = frozenset({"HIGH_BOUNCE_RATE_WARNING", "HIGH_BOUNCE_RATE_BLOCKED"})


@dataclass(frozen=True, slots=True)
class PlatformPause:
    """A platform event that pauses campaigns: those of ``domain`` (None: every one)."""

    domain: str | None
    reason: str


def platform_pause(
    provider: str, kind: str, details: Mapping[str, Any], event_id: str | None
) -> PlatformPause | None:
    """Return whose campaigns a provider's platform event (its ``eventDetails``) pauses and
    why, or None when it pauses none."""
    if kind not in PAUSING_PLATFORM_EVENTS:
        return None
    raw_domain = details.get("domain")
    domain = raw_domain.strip().rstrip(".").lower() if isinstance(raw_domain, str) else None
    reason = f"{provider} {kind} for " + (domain or "the account")
    rate, scope = details.get("bounceRate"), details.get("scope")
    if isinstance(rate, int | float):
        reason += f": bounce rate {rate:g} %" + (f" ({scope})" if isinstance(scope, str) else "")
        limits = (details.get(n) for n in ("warnThreshold", "blockThreshold", "threshold"))
        limit = next((x for x in limits if isinstance(x, int | float)), None)
        if limit is not None:
            reason += f", past its {limit:g} %"
    if event_id:
        reason += f" (event {event_id})"
    return PlatformPause(domain or None, reason)
