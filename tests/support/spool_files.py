"""Spool files written as a web process writes them: bodies, a writer in a process of its own,
and the inbox they reach."""

from __future__ import annotations

import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from emailhook.adapters.db.engine import Database
from emailhook.adapters.db.models import InboxBody
from emailhook.domain.inbox import BodyState, NewBody

RECEIVED = datetime(2026, 11, 27, 14, 30, tzinfo=UTC)


def body(n: int, *, padding: int = 0) -> NewBody:
    """A one-event body (``padding``: that many more bytes in a field of its own)."""
    raw = b'{"notificationType": "OPENED", "eventId": "e-%d", "pad": "%s"}' % (n, b"x" * padding)
    return NewBody(raw, "tracking_event", 1, BodyState.PENDING, RECEIVED, f"req-{n}")


def inbox(db: Database) -> list[str | None]:
    with db.sessions() as session:
        return list(session.scalars(select(InboxBody.request_id).order_by(InboxBody.id)))


def writer_script(directory: Path, count: int) -> list[str]:
    """A process that writes ``count`` bodies, says so, waits for a line on stdin and dies."""
    script = textwrap.dedent(
        f"""
        import os, sys
        from datetime import UTC, datetime
        from pathlib import Path
        from emailhook.domain.inbox import NewBody
        from emailhook.domain.inbox import BodyState
        from emailhook.adapters.intake.spool import SpoolWriter
        writer = SpoolWriter(Path({str(directory)!r}))
        at = datetime(2026, 11, 27, 14, 30, tzinfo=UTC)
        for n in range({count}):
            raw = b'{{"notificationType": "OPENED", "eventId": "e-%d"}}' % n
            writer.write(NewBody(raw, "tracking_event", 1, BodyState.PENDING, at, f"req-{{n}}"), 5)
        print("written", flush=True)
        sys.stdin.readline()
        os._exit(9)  # no clean-up of any kind, as after a SIGKILL
        """
    )
    return [sys.executable, "-c", script]
