"""Posting through a test client, and finding the posted bodies in the inbox."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from emailhook.adapters.db.models import InboxBody


def move_spool(app: Flask) -> int:
    """Move what ``app``'s web process spooled into the inbox now; return how many bodies."""
    promoter = app.extensions["emailhook"].spool
    return promoter.run_once() if promoter else 0


def post_bodies(app: Flask, bodies: list[bytes]) -> list[int]:
    """POST each body to ``/email`` (each must get 200) and return their inbox ids, in order."""
    client = app.test_client()
    answers = [client.post("/email", data=body) for body in bodies]
    assert [answer.status_code for answer in answers] == [200] * len(bodies)
    move_spool(app)
    request_ids = [answer.json["request_id"] for answer in answers]  # type: ignore[index]
    with app.extensions["emailhook"].database.sessions() as session:
        rows = session.execute(
            select(InboxBody.request_id, InboxBody.id).where(InboxBody.request_id.in_(request_ids))
        )
        found = {row.request_id: row.id for row in rows}
    return [found[request_id] for request_id in request_ids]


def latest_inbox_id(app: Flask, request_id: str) -> int:
    """Move the spool, then return the newest inbox id of a body posted with ``request_id``."""
    move_spool(app)
    with app.extensions["emailhook"].database.sessions() as session:
        found = session.scalar(
            select(func.max(InboxBody.id)).where(InboxBody.request_id == request_id)
        )
    assert found is not None, f"no body with request id {request_id!r} in the inbox"
    return int(found)
