"""emailhook: e-mail providers' webhooks in, every event stored exactly once.

``flask --app emailhook run`` and WSGI servers find :func:`create_app`; ``celery -A emailhook
worker`` finds the Celery app through ``emailhook.celery``. Both are served lazily from the
entrypoints, so that importing a part of the package (``emailhook.domain``) loads no framework.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from celery import Celery

    from emailhook.entrypoints.web.app import create_app

__all__ = ["create_app"]


@cache
def _celery() -> Celery:
    from emailhook.entrypoints.worker.app import worker_app

    return worker_app()


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from emailhook.entrypoints.web.app import create_app

        return create_app
    if name == "celery":
        return _celery()
    raise AttributeError(f"module 'emailhook' has no attribute {name!r}")
