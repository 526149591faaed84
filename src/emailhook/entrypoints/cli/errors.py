"""How a command reports what the service refused: one line, and a non-zero exit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click

from emailhook.service.errors import (
    BodyNotFoundError,
    InvalidQueryError,
    StorageUnavailableError,
)


@contextmanager
def reported() -> Iterator[None]:
    """Turn the service's expected failures into a clear message and exit status 1."""
    try:
        yield
    except (StorageUnavailableError, InvalidQueryError, BodyNotFoundError) as error:
        raise click.ClickException(str(error)) from error
