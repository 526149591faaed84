"""The campaign guards' rule: rates per message against a warning and a pause threshold, once
enough messages were delivered to tell."""

from __future__ import annotations

import pytest

from emailhook.domain.sending.guards import Action, GuardRule, Outcomes, judge

RULE = GuardRule(complaint_warn=0.001, complaint_pause=0.003, hard_bounce_pause=0.05,
                 min_delivered=1000)  # fmt: skip


@pytest.mark.parametrize(
    ("outcomes", "action"),
    [
        (Outcomes(delivered=999, final=999, complained=500, hard_bounced=0), Action.KEEP),
        (Outcomes(delivered=10_000, final=10_000, complained=10, hard_bounced=0), Action.KEEP),
        (Outcomes(delivered=10_000, final=10_000, complained=11, hard_bounced=0), Action.WARN),
        (Outcomes(delivered=10_000, final=10_000, complained=30, hard_bounced=0), Action.WARN),
        (Outcomes(delivered=10_000, final=10_000, complained=31, hard_bounced=0), Action.PAUSE),
        (Outcomes(delivered=9_500, final=10_000, complained=0, hard_bounced=500), Action.KEEP),
        (Outcomes(delivered=9_499, final=10_000, complained=0, hard_bounced=501), Action.PAUSE),
    ],
)
def test_a_campaign_is_warned_then_paused_past_each_threshold_after_enough_delivered(
    outcomes: Outcomes, action: Action
) -> None:
    assert judge(outcomes, RULE).action is action


def test_a_pause_says_which_rate_and_threshold() -> None:
    verdict = judge(Outcomes(delivered=2000, final=2000, complained=8, hard_bounced=0), RULE)
    assert verdict.reason == (
        "complaints 0.40 % of 2000 delivered, past the 0.30 % that pauses a campaign"
    )
