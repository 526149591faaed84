"""The CPU priority a process of ours gives itself when its work may wait for the web's."""

from __future__ import annotations

import os


def lower_priority(nice: int) -> None:
    """Run this thread, and what it starts from now on, at ``nice`` unless it runs lower."""
    if os.getpriority(os.PRIO_PROCESS, 0) < nice:
        os.setpriority(os.PRIO_PROCESS, 0, nice)
