"""Log lines: JSON off a terminal, text on one, request ids attached, addresses masked."""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Iterator

import pytest

from emailhook.observability.logs import request_id_bound, stream_handler


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    log = logging.getLogger("emailhook.test_logs")
    log.propagate = False
    log.setLevel(logging.INFO)
    yield log
    log.handlers.clear()


def lines_of(log: logging.Logger, stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_off_a_terminal_each_record_is_one_json_object_with_the_request_id(
    logger: logging.Logger,
) -> None:
    stream = io.StringIO()
    logger.addHandler(stream_handler(stream))
    with request_id_bound("req-42"):
        logger.info("accepted body id=%d", 7)
    logger.info("outside any request")
    first, second = (json.loads(line) for line in lines_of(logger, stream))
    assert first["message"] == "accepted body id=7"
    assert (first["level"], first["logger"], first["request_id"]) == (
        "INFO",
        "emailhook.test_logs",
        "req-42",
    )
    assert first["time"].endswith("+00:00")
    assert second["request_id"] == "-"


def test_a_request_id_passed_as_extra_wins_over_the_bound_one(logger: logging.Logger) -> None:
    stream = io.StringIO()
    logger.addHandler(stream_handler(stream))
    with request_id_bound("web-request"):
        logger.info("stored body 1", extra={"request_id": "from-the-inbox"})
    assert json.loads(stream.getvalue())["request_id"] == "from-the-inbox"


def test_on_a_terminal_records_are_text_lines(logger: logging.Logger) -> None:
    stream = Terminal()
    logger.addHandler(stream_handler(stream))
    with request_id_bound("abc"):
        logger.warning("hello")
    (line,) = lines_of(logger, stream)
    assert line.endswith(f"WARNING emailhook.test_logs[{os.getpid()}] abc: hello")


@pytest.mark.parametrize("stream", [io.StringIO(), Terminal()], ids=["json", "text"])
def test_addresses_are_masked_in_messages_arguments_and_tracebacks(
    logger: logging.Logger, stream: io.StringIO
) -> None:
    logger.addHandler(stream_handler(stream))
    logger.info("to=%s cc=ana.maria@example.org", "joao.madero@quite.com.br")
    try:
        raise ValueError("duplicate key (email)=(joao.madero@quite.com.br)")
    except ValueError:
        logger.exception("insert failed for %s", "x@y.com")
    output = stream.getvalue()
    assert "madero" not in output
    assert "ana.maria" not in output
    assert "j***@quite.com.br" in output
    assert "a***@example.org" in output
    assert "x***@y.com" in output


def test_json_lines_stay_valid_when_an_address_follows_an_escaped_character(
    logger: logging.Logger,
) -> None:
    stream = io.StringIO()
    logger.addHandler(stream_handler(stream))
    logger.info("bell\x07joao@quite.com.br", extra={"data": {"to": ["ana@example.org"]}})
    line = json.loads(stream.getvalue())
    assert line["message"] == "bell\x07j***@quite.com.br"
    assert line["data"] == {"to": ["a***@example.org"]}


def test_on_a_terminal_a_value_cannot_forge_a_line(logger: logging.Logger) -> None:
    stream = Terminal()
    logger.addHandler(stream_handler(stream))
    logger.warning("item from %s", "a\nINJECTED LINE \x1b[2J\u202eevil")
    try:
        raise ValueError("first\nsecond")
    except ValueError:
        logger.exception("failed: %s", "x\ry")
    lines = lines_of(logger, stream)
    assert lines[0].endswith("item from a\\nINJECTED LINE \\x1b[2J\\u202eevil")
    assert lines[1].endswith("failed: x\\ry")
    assert lines[2] == "Traceback (most recent call last):"  # a traceback keeps its lines
    assert not any("INJECTED" in line for line in lines[1:])
