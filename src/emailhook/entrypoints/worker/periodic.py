"""Jobs a worker runs now and then (reconciliation, suppression sync): a thread each, beside
the relay, that a stop event ends. A failed run is logged and the next one runs on time."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("emailhook.periodic")

#: the first run waits this long after the worker starts (at most the interval): a restart
#: loop must not hammer Infobip's API, and the worker's own start comes first
FIRST_RUN_DELAY_SECONDS = 60.0


def run_every(
    name: str,
    interval_seconds: float,
    job: Callable[[], object],
    stop: threading.Event,
    *,
    first_delay_seconds: float = FIRST_RUN_DELAY_SECONDS,
) -> None:
    """Run ``job`` every ``interval_seconds`` until ``stop`` is set."""
    delay = min(first_delay_seconds, interval_seconds)
    while not stop.wait(delay):
        try:
            job()
        except Exception:  # the next run may well succeed: log it and keep the schedule
            log.exception("%s failed; next run in %.0f s", name, interval_seconds)
        delay = interval_seconds


def start_every(
    name: str, interval_seconds: float, job: Callable[[], object], stop: threading.Event
) -> threading.Thread:
    """Start :func:`run_every` in a daemon thread and return it."""
    thread = threading.Thread(
        target=run_every, args=(name, interval_seconds, job, stop), name=f"emailhook-{name}"
    )
    thread.daemon = True
    thread.start()
    return thread
