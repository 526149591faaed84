"""The guards that pause a campaign before the sender's reputation suffers: its rates per
message (complaints over messages delivered, hard bounces over messages with a final outcome)
against two thresholds each, a warning and a pause, once enough have been delivered to tell.

Gmail and Yahoo reject bulk mail from senders whose spam rate passes 0.3 % and want it under
0.1 % (``shared/docs/sending-anchors.md``); a list that hard-bounces 5 % is a list not kept.
Pure: the worker's periodic guard reads the counts and acts on the verdict.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


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
