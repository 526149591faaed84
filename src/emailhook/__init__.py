"""emailhook: Infobip e-mail webhooks in, every event stored exactly once.

``flask --app emailhook run`` finds :func:`create_app`; ``celery -A emailhook worker`` finds
the Celery app through ``emailhook.celery``, built on first access rather than at import.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from emailhook.entrypoints.web.app import create_app

if TYPE_CHECKING:
    from celery import Celery

__all__ = ["create_app"]


@cache
def _celery() -> Celery:
    from emailhook.entrypoints.worker import create_celery
    from emailhook.observability.logs import configure_logging

    configure_logging()
    return create_celery()


def __getattr__(name: str) -> Any:
    if name == "celery":
        return _celery()
    raise AttributeError(f"module 'emailhook' has no attribute {name!r}")
