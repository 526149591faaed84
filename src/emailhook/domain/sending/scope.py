"""Which suppressions block which messages: an unsubscribe blocks marketing only (a receipt or
a password reset still goes), every other reason (bounces, complaints, the provider's own
list) blocks every message."""

from __future__ import annotations

from collections.abc import Iterable

from emailhook.domain.sending.message import Category
from emailhook.domain.suppression import SuppressionReason


def blocks(reason: SuppressionReason | str, category: Category) -> bool:
    """Return True when a suppression for ``reason`` keeps a message of ``category`` back."""
    if SuppressionReason(reason) is SuppressionReason.UNSUBSCRIBE:
        return category is Category.MARKETING
    return True


def blocking_reason(
    reasons: Iterable[SuppressionReason | str], category: Category
) -> SuppressionReason | None:
    """Return the first of an address's active reasons that blocks ``category``, or None."""
    for reason in reasons:
        if blocks(reason, category):
            return SuppressionReason(reason)
    return None
