"""How a command reports what the service refused: one line (a line per field for a refused
send request), and a non-zero exit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click

from emailhook.domain.printable import escaped
from emailhook.service.errors import (
    BodyNotFoundError,
    ConflictError,
    IdempotencyMismatchError,
    InvalidQueryError,
    InvalidRequestError,
    NotFoundError,
    StorageUnavailableError,
)


@contextmanager
def reported() -> Iterator[None]:
    """Turn the service's expected failures into a clear message and exit status 1."""
    try:
        yield
    except InvalidRequestError as error:
        lines = [str(error)] + [
            f"  {field or '(request)'}: {problem}"
            for field, problems in error.errors.items()
            for problem in problems
        ]
        raise click.ClickException("\n".join(escaped(line) for line in lines)) from error
    except (
        StorageUnavailableError,
        InvalidQueryError,
        BodyNotFoundError,
        NotFoundError,
        ConflictError,
        IdempotencyMismatchError,
    ) as error:
        raise click.ClickException(escaped(str(error))) from error
