"""A long command's progress off a terminal: a log line each tenth of the work, none more."""

from __future__ import annotations

import logging

from emailhook.entrypoints.cli.progress import progress


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_without_a_terminal_progress_is_a_log_line_each_tenth_of_the_work() -> None:
    logger, lines = logging.getLogger("emailhook.progress"), Lines()
    logger.addHandler(lines)
    level, logger.level = logger.level, logging.INFO
    try:
        with progress("pruning bodies", 1000) as advance:
            for _ in range(200):
                advance(5)
    finally:
        logger.removeHandler(lines)
        logger.setLevel(level)
    assert lines.lines == [f"pruning bodies: {n} of 1000" for n in range(100, 1001, 100)]
