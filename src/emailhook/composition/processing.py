"""The processor of kept bodies, as a worker or a command builds it."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from emailhook.composition.policies import retry_policy, soft_bounce_rule
from emailhook.providers.base import Provider
from emailhook.providers.registry import PROVIDERS
from emailhook.service.receive.processing import Processor
from emailhook.settings import Settings


def parsers(settings: Settings) -> dict[str, Provider]:
    """Return every registered provider, for parsing kept bodies by their ``provider``.

    All of them, enabled here or not: a body kept by a web process whose settings differ is
    still parsed. Parsing reads no secret and fetches nothing.
    """
    return {p.name: p(settings.provider_values(p.name)) for p in PROVIDERS}


def processor(
    settings: Settings,
    sessions: sessionmaker[Session],
    *,
    readers: sessionmaker[Session] | None = None,
    by_name: dict[str, Provider] | None = None,
) -> Processor:
    """Return a processor storing through ``sessions`` (loading bodies through ``readers``)."""
    return Processor(
        sessions,
        retry_policy(settings),
        soft_bounces=soft_bounce_rule(settings),
        readers=readers,
        parsers=by_name if by_name is not None else parsers(settings),
    )
