"""The campaign guards' rule: rates per message against a warning and a pause threshold, once
enough messages were delivered to tell."""

from __future__ import annotations

import pytest

from emailhook.domain.sending.guards import (
    Action,
    GuardRule,
    Outcomes,
    PlatformPause,
    judge,
    judge_domain,
    platform_pause,
    sender_domain,
)

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


def test_a_domain_is_judged_by_the_same_thresholds_and_named_with_its_window() -> None:
    outcomes = Outcomes(delivered=2000, final=2000, complained=8, hard_bounced=0)
    verdict = judge_domain("example.com", 24.0, outcomes, RULE)
    assert verdict.action is Action.PAUSE
    assert verdict.reason == (
        "sending domain example.com, last 24 h: complaints 0.40 % of 2000 delivered,"
        " past the 0.30 % that pauses a campaign"
    )
    warned = judge_domain("example.com", 24.0, Outcomes(2000, 2000, 3, 0), RULE)
    assert warned.action is Action.WARN
    assert judge_domain("example.com", 24.0, Outcomes(999, 999, 999, 0), RULE).reason is None


@pytest.mark.parametrize(
    ("sender", "domain"),
    [
        ("cobranca@example.com", "example.com"),
        ("Cobranca <cobranca@Example.COM>", "example.com"),
        ('"a@b" <x@mail.example.org.>', "mail.example.org"),
        ("no-domain", None),
        ("trailing@", None),
        (None, None),
    ],
)
def test_a_senders_domain_is_its_addresss_lower_cased(
    sender: str | None, domain: str | None
) -> None:
    assert sender_domain(sender) == domain


def test_infobips_high_bounce_rate_warning_pauses_the_domains_campaigns_saying_why() -> None:
    details = {"type": "HIGH_BOUNCE_RATE_WARNING", "domain": "Example.com", "warnThreshold": 3.0,
               "bounceRate": 4.6, "scope": "HOURLY"}  # fmt: skip
    pause = platform_pause("infobip", "HIGH_BOUNCE_RATE_WARNING", details, "ev-1")
    assert pause == PlatformPause(
        "example.com",
        "infobip HIGH_BOUNCE_RATE_WARNING for example.com: bounce rate 4.6 % (HOURLY),"
        " past its 3 % (event ev-1)",
    )


def test_a_block_naming_no_domain_pauses_every_campaign_and_other_events_none() -> None:
    blocked = platform_pause("infobip", "HIGH_BOUNCE_RATE_BLOCKED", {}, None)
    assert blocked == PlatformPause(None, "infobip HIGH_BOUNCE_RATE_BLOCKED for the account")
    assert platform_pause("infobip", "DOMAIN_VERIFIED", {"domain": "example.com"}, "e") is None
