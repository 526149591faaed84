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
