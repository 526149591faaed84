"""What a process tells about itself: log lines with secrets masked, Prometheus metrics.

Each process configures it once, at its start, through :func:`configure`: the web app's
factory, the worker's Celery app and the ``emailhook`` command.
"""

from __future__ import annotations

import contextlib
import faulthandler
import io
import signal
import sys

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
    answer_sigusr2_with_stacks()
    install_redaction(settings)
    configure_logging(settings=settings, root=root)
    if metrics:
        configure_metrics(settings)


def answer_sigusr2_with_stacks() -> None:
    """Make SIGUSR2 write the stack of each thread of this process to its real stderr."""
    stream = sys.__stderr__
    if stream is None:  # no stderr at all: nowhere to write
        return
    # a stderr without a file descriptor (a test's runner): nothing to write to
    with contextlib.suppress(io.UnsupportedOperation, ValueError, RuntimeError):
        faulthandler.register(signal.SIGUSR2, file=stream, all_threads=True)
