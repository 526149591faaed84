"""Who moves the spool (``EMAILHOOK_SPOOL_MOVER``), as each backend reads ``auto``."""

from __future__ import annotations

import pytest

from emailhook.settings import Settings

SQLITE = "sqlite:///emailhook.db"
POSTGRES = "postgresql://postgres@127.0.0.1:5432/emailhook"


@pytest.mark.parametrize(
    ("mover", "database", "by_worker", "by_web"),
    [
        # one machine: the worker; bodies wait, synced, while none runs
        ("auto", SQLITE, True, False),
        # the worker where one runs on the machine, the web processes where none does
        ("auto", POSTGRES, True, True),
        ("worker", POSTGRES, True, False),
        ("web", SQLITE, False, True),
        ("web", POSTGRES, False, True),
    ],
)
def test_auto_gives_the_spool_to_the_machines_worker_and_off_sqlite_to_the_web_without_one(
    mover: str, database: str, by_worker: bool, by_web: bool
) -> None:
    settings = Settings(spool_mover=mover, database_url=database)
    assert (settings.spool_moved_by_worker, settings.spool_moved_by_web) == (by_worker, by_web)


@pytest.mark.parametrize(
    ("mover", "database", "intake", "beside"),
    [
        ("auto", POSTGRES, "spool", True),  # a web host with no worker moves out of its answers
        ("auto", SQLITE, "spool", False),  # one machine: the worker
        ("web", POSTGRES, "spool", False),  # asked of the web processes themselves
        ("worker", POSTGRES, "spool", False),
        ("auto", POSTGRES, "database", False),  # no spool to move
    ],
)
def test_serve_starts_a_mover_beside_its_server_only_where_auto_has_the_web_host_move(
    mover: str, database: str, intake: str, beside: bool
) -> None:
    settings = Settings(spool_mover=mover, database_url=database, intake=intake)
    assert settings.spool_mover_beside_web is beside
