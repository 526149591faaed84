"""Progress of a long command: a bar on a terminal, a line in the log now and then elsewhere."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

log = logging.getLogger("emailhook.progress")

#: without a terminal, a log line each time this share of the work is done
_LOG_EVERY = 0.1


@contextmanager
def progress(label: str, total: int) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(n)``: call it as each part of ``total`` is done."""
    if sys.stderr.isatty():
        with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
            yield bar.update
        return
    done, next_line = 0, _LOG_EVERY * total

    def advance(n: int) -> None:
        nonlocal done, next_line
        done += n
        if done >= next_line:
            log.info("%s: %d of %d", label, done, total)
            next_line = done + _LOG_EVERY * total

    yield advance
