"""The sender's X-Request-Id never stops a body from being kept, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from emailhook.adapters.db.engine import Database
from emailhook.adapters.db.models import InboxBody
from emailhook.service.receive.intake import SessionWriter
from support.policies import new_intake


@pytest.mark.parametrize(
    ("request_id", "kept"),
    [
        pytest.param("req-1", "req-1", id="ordinary"),
        pytest.param("x" * 500, "x" * 64, id="longer than the column"),
        pytest.param("a\x00b\x1fc\x7f", "abc", id="NUL and control characters"),
        pytest.param("\x00\x00", None, id="nothing printable"),
        pytest.param(None, None, id="absent"),
    ],
)
def test_any_request_id_is_accepted_and_kept_in_storable_form(
    database: Database, request_id: str | None, kept: str | None
) -> None:
    # PostgreSQL refused text with NUL or longer than 64 characters: every retry of such a
    # body was answered 503, so it was never kept.
    receipt = new_intake(SessionWriter(database.sessions)).accept(
        b'{"hello": "world"}', request_id=request_id
    )
    with database.sessions() as session:
        stored = session.scalar(select(InboxBody.request_id).where(InboxBody.id == receipt.body_id))
    assert stored == kept
