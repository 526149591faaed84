"""emailhook: e-mail providers' webhooks in, every event stored exactly once.

``flask --app emailhook run`` and granian find :func:`create_app`; ``celery -A emailhook worker``
finds the Celery app through ``emailhook.celery``, built on first access rather than at import.
Both are assembled in ``emailhook.composition``.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from emailhook.composition import create_app

if TYPE_CHECKING:
    from celery import Celery

__all__ = ["create_app"]


@cache
def _celery() -> Celery:
    from emailhook.composition import create_celery
    from emailhook.observability.logs import configure_logging

    configure_logging()
    return create_celery()


def __getattr__(name: str) -> Any:
    if name == "celery":
        return _celery()
    raise AttributeError(f"module 'emailhook' has no attribute {name!r}")
