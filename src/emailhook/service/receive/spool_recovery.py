"""Recovery of a spool folder carried from a machine that is gone: ``emailhook spool recover``.

A web machine lost for good leaves accepted bodies in its spool folder that never reached the
inbox. An operator copies the folder to any machine that reaches the database and recovers it
there. Each segment is moved from the offset its ``spool_segment`` row holds, in transactions
that claim their run of records first (``claim_run``), so every body reaches the inbox exactly
once: when the recovery runs twice, when two machines recover copies of the same folder at once,
and when the lost machine comes back and moves its own copy meanwhile. A moved segment's file
is deleted from the folder; a segment still locked by a live process of this machine is left
to that process.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from emailhook.adapters.intake.spool_promoter import SpoolPromoter
from emailhook.adapters.intake.spool_records import SUFFIX


@dataclass(frozen=True, slots=True)
class Recovery:
    """What one recovery of a folder did."""

    #: segment files found in the folder
    segments: int
    #: bodies this run moved into the inbox (none for a segment moved before, anywhere)
    bodies: int
    #: segments still in the folder: a live process of this machine writes them
    left: tuple[str, ...]


def recover_folder(engine: Engine, folder: Path) -> Recovery:
    """Move every body of ``folder``'s segments that is not in the inbox yet, then delete them."""
    found = sum(1 for _ in folder.glob(f"*{SUFFIX}"))
    bodies = SpoolPromoter(engine, folder).adopt_orphans()
    left = tuple(sorted(path.name for path in folder.glob(f"*{SUFFIX}")))
    return Recovery(segments=found, bodies=bodies, left=left)
