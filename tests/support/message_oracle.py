"""What the message counts and rates must be, read straight from the stored events: the
oracle the per-message rollup, ``GET /stats`` and the dashboard are checked against."""

from __future__ import annotations

from collections import Counter, defaultdict

from sqlalchemy import Engine, select

from emailhook.adapters.db.models import EmailCallback
from emailhook.domain.message_outcomes import FINAL_FLAGS, FLAGS

COUNT_NAMES = ("messages", "final", *FLAGS)


def messages_by_provider(engine: Engine) -> dict[str, dict[str, int]]:
    """Per provider: messages (provider, message id, recipient) counted once per outcome."""
    flags: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                EmailCallback.provider,
                EmailCallback.id_externo,
                EmailCallback.email,
                EmailCallback.event_type,
            )
        ).all()
    for provider, message_id, email, event_type in rows:
        if message_id and email:
            seen = flags[(provider, message_id, email)]
            if event_type in FLAGS:
                seen.add(event_type)
    counts: dict[str, dict[str, int]] = {}
    for (provider, _, _), seen in flags.items():
        mine = counts.setdefault(provider, dict.fromkeys(COUNT_NAMES, 0))
        mine["messages"] += 1
        mine["final"] += bool(seen & FINAL_FLAGS)
        for flag in seen:
            mine[flag] += 1
    return counts


def total(by_provider: dict[str, dict[str, int]]) -> dict[str, int]:
    return {name: sum(m[name] for m in by_provider.values()) for name in COUNT_NAMES}


def expected_rates(m: dict[str, int]) -> dict[str, float | None]:
    """The rates as the issue defines them, written out again here."""

    def ratio(a: str, b: str) -> float | None:
        return round(m[a] / m[b], 3) if m[b] else None

    return {
        "delivery": ratio("delivered", "final"),
        "bounce": ratio("bounced", "final"),
        "open": ratio("opened", "delivered"),
        "click": ratio("clicked", "delivered"),
        "complaint": ratio("complained", "delivered"),
        "unsubscribe": ratio("unsubscribed", "delivered"),
    }


def event_type_counts(engine: Engine) -> Counter[str]:
    """Stored events by event type."""
    with engine.connect() as conn:
        return Counter(conn.execute(select(EmailCallback.event_type)).scalars())
