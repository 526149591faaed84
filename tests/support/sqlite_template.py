"""A migrated SQLite template for the tests' own processes, as PostgreSQL's databases have one.

Migrating a new SQLite file to the head revision costs about 0.12 s of CPU (Alembic loads and
runs every migration); copying a file migrated once costs a millisecond. The suite opens about
500 new SQLite databases in its own processes (every app, every ``database`` fixture), so
:func:`upgrade_from_template` stands in for ``emailhook.adapters.db.schema.upgrade`` there
(tests/conftest.py installs it): a database file that does not exist yet, brought to the head,
is first made a copy of this process's template, which the real ``upgrade`` migrated; the real
``upgrade`` then runs on the copy as on any database at the head. Anything else (another
revision, PostgreSQL, a file that exists) goes to the real ``upgrade`` untouched. The
migrations themselves are tested where they are the subject: tests/integration/
test_provider_migration.py, ``emailhook db check`` in ``make lint``, and every server the e2e
and fault tests start, which migrates its new database in its own process.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, create_engine

Upgrade = Callable[..., None]

_lock = threading.Lock()
_template: list[Path] = []


def _template_file(upgrade: Upgrade) -> Path:
    """This process's template: a SQLite file migrated to the head by ``upgrade``, once."""
    with _lock:
        if not _template:
            path = Path(tempfile.mkdtemp(prefix="emailhook-sqlite-template-")) / "template.db"
            engine = create_engine(f"sqlite:///{path}")
            try:
                upgrade(engine)
            finally:
                engine.dispose()  # the last connection closed: no -wal or -shm file left
            _template.append(path)
        return _template[0]


def _new_file(engine: Engine) -> Path | None:
    """The file of ``engine``'s SQLite database when nothing has created it yet, else None."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:":
        return None
    path = Path(database)
    return None if path.exists() else path


def upgrade_from_template(real: Upgrade) -> Upgrade:
    """Return ``upgrade(engine, revision="head")`` that copies the template into a new SQLite
    file before running ``real`` on it."""

    def upgrade(engine: Engine, revision: str = "head") -> None:
        path = _new_file(engine) if revision == "head" else None
        if path is not None:
            template = _template_file(real)
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(template, path)
        real(engine, revision)

    return upgrade
