"""What a process tells about itself: log lines with secrets masked, Prometheus metrics.

Each process configures it once, at its start, through :func:`configure`: the web app's
factory, the worker's Celery app and the ``emailhook`` command.
"""

from __future__ import annotations

import faulthandler
import signal

from emailhook.observability.logs import configure_logging
from emailhook.observability.metrics import configure_metrics
from emailhook.observability.redaction import install_redaction
from emailhook.settings import Settings


def configure(settings: Settings, *, root: bool = False, metrics: bool = True) -> None:
    """Set up this process's observability: every secret of ``settings`` and every address
    masked in every record, emailhook's lines (every library's with ``root``: the worker, for
    Celery's own) on stderr in one format, and, with ``metrics``, the folder Prometheus'
    multiprocess mode writes in. Safe to call again: nothing is installed twice.

    ``kill -USR2`` makes the process (and any child it forks later, such as the worker's pool)
    write the stack of each of its threads to stderr: what a stuck process is waiting for."""
    faulthandler.register(signal.SIGUSR2, all_threads=True)
    install_redaction(settings)
    configure_logging(settings=settings, root=root)
    if metrics:
        configure_metrics(settings)
