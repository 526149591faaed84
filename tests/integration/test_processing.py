"""Processing against a real database: once-only storage, poison isolation, dead letters."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from sqlalchemy import event, func, select, text

from conftest import SEED_EVENTS
from emailhook.adapters.db.engine import Database, open_database, open_read_only_database
from emailhook.adapters.db.models import EmailCallback, InboxBody
from emailhook.adapters.db.sqlite_lock import writer_lock
from emailhook.adapters.inbox import backlog
from emailhook.domain.inbox import BodyState
from emailhook.service.receive.intake import SessionWriter
from emailhook.service.receive.processing import Processor
from emailhook.settings import Settings
from support.poison import install_poison_trigger, poison_body, remove_poison_trigger
from support.policies import new_intake, retry, soft_bounces


def accept(db: Database, body: bytes | dict[str, object]) -> int:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return new_intake(SessionWriter(db.sessions)).accept(raw).body_id


def stored(db: Database) -> int:
    with db.sessions() as session:
        return int(session.execute(select(func.count(EmailCallback.id))).scalar_one())


def state_of(db: Database, body_id: int) -> InboxBody:
    with db.sessions() as session:
        body = session.get(InboxBody, body_id)
        assert body is not None
        return body


def test_processing_the_same_bodies_twice_stores_each_event_once(
    database: Database, seed_bodies: dict[str, bytes]
) -> None:
    ids = [accept(database, body) for body in seed_bodies.values()]
    processor = Processor(database.sessions, retry(), soft_bounces=soft_bounces())

    first = processor.process(ids)
    assert first.stored == SEED_EVENTS
    assert stored(database) == SEED_EVENTS

    # A redelivered message finds its bodies done and does nothing...
    assert processor.process(ids).stored == 0
    # ...and the same bodies accepted again store nothing new.
    again = [accept(database, body) for body in seed_bodies.values()]
    outcome = processor.process(again)
    assert (outcome.stored, outcome.duplicates) == (0, SEED_EVENTS)
    assert stored(database) == SEED_EVENTS


def test_poison_body_is_isolated_retried_with_backoff_and_dead_lettered(
    database: Database, seed_bodies: dict[str, bytes]
) -> None:
    install_poison_trigger(database.engine)
    poison = accept(database, poison_body("1"))
    good = accept(database, seed_bodies["delivered_dict"])
    processor = Processor(database.sessions, retry(max_attempts=3), soft_bounces=soft_bounces())

    outcome = processor.process([poison, good])
    assert outcome.stored == 5  # the good body went through despite its batch-mate
    assert outcome.failed == [poison]
    failed_once = state_of(database, poison)
    assert (failed_once.state, failed_once.attempts) == (BodyState.PENDING, 1)
    assert "poisoned row" in (failed_once.last_error or "")
    assert failed_once.available_at > failed_once.received_at  # backs off before the next try

    processor.process([poison])
    assert processor.process([poison]).dead == [poison]
    dead = state_of(database, poison)
    assert (dead.state, dead.attempts) == (BodyState.DEAD, 3)
    assert processor.process([poison]).failed == []  # dead bodies are left alone


def test_replaying_a_dead_body_after_the_fix_stores_it_once(database: Database) -> None:
    install_poison_trigger(database.engine)
    poison = accept(database, poison_body("2"))
    processor = Processor(database.sessions, retry(max_attempts=1), soft_bounces=soft_bounces())
    assert processor.process([poison]).dead == [poison]

    remove_poison_trigger(database.engine)
    with database.sessions.begin() as session:
        assert (
            backlog.replay(session, now=state_of(database, poison).received_at, ids=[poison]) == 1
        )
    assert processor.process([poison]).stored == 1
    with database.sessions.begin() as session:
        assert (
            backlog.replay(session, now=state_of(database, poison).received_at, ids=[poison]) == 1
        )
    assert processor.process([poison]).stored == 0
    assert stored(database) == 1
    assert state_of(database, poison).state == BodyState.DONE


def test_unrecognized_body_replayed_stays_unrecognized(database: Database) -> None:
    body_id = accept(database, {"something": "else"})
    assert state_of(database, body_id).state == BodyState.UNRECOGNIZED
    with database.sessions.begin() as session:
        backlog.replay(session, now=state_of(database, body_id).received_at, ids=[body_id])
    Processor(database.sessions, retry(), soft_bounces=soft_bounces()).process([body_id])
    assert state_of(database, body_id).state == BodyState.UNRECOGNIZED


def test_a_database_lock_held_past_the_busy_timeout_is_retried_not_failed(
    database: Database, seed_bodies: dict[str, bytes]
) -> None:
    body_id = accept(database, seed_bodies["delivered"])
    released = threading.Event()

    def hold_lock() -> None:
        with database.engine.connect() as conn:
            if database.engine.dialect.name == "sqlite":
                conn.execute(text("UPDATE inbox_body SET request_id = 'locked'"))
            else:
                conn.execute(text("LOCK TABLE email_callback IN ACCESS EXCLUSIVE MODE"))
            time.sleep(3)  # longer than the 2 s lock timeout of the fixture
            conn.rollback()
        released.set()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    time.sleep(0.3)
    outcome = Processor(database.sessions, retry(), soft_bounces=soft_bounces()).process([body_id])
    holder.join()
    assert released.is_set()
    assert outcome.stored == 1
    assert state_of(database, body_id).attempts == 0  # transient: not counted as a failure


def test_on_sqlite_bodies_are_loaded_while_another_process_holds_the_write_lock(
    tmp_path: Path, seed_bodies: dict[str, bytes]
) -> None:
    # Two worker processes share SQLite's one write lock: one loads its next batch while the
    # other stores, instead of queueing for the lock just to read.
    settings = Settings(data_dir=tmp_path)
    db = open_database(settings, lock_timeout_seconds=5)
    readers = open_read_only_database(settings)
    ids = [accept(db, body) for body in seed_bodies.values()]
    loads: list[str] = []

    @event.listens_for(readers.engine, "before_cursor_execute")
    def _seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if "FROM inbox_body" in statement:
            loads.append(statement)

    lock = writer_lock(db.engine)
    assert lock is not None
    lock.acquire()  # as the other worker process's store transaction would
    processor = Processor(
        db.sessions, retry(), soft_bounces=soft_bounces(), readers=readers.sessions
    )
    worker = threading.Thread(target=processor.process, args=(ids,))
    worker.start()
    try:
        deadline = time.monotonic() + 5
        while not loads and time.monotonic() < deadline:
            time.sleep(0.01)
        assert loads, "the bodies were not loaded while the write lock was held"
        assert stored(readers) == 0  # storing waits for the lock (held by this thread)
    finally:
        lock.release()
        worker.join(10)
    assert stored(db) == SEED_EVENTS
    db.engine.dispose()
    readers.engine.dispose()
