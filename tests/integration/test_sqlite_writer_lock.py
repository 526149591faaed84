"""The SQLite writers' lock across the threads of one process: the first threads to write
race to open it, and whatever the race, the process holds one open file of it and a release
always unlocks what its acquire locked; a fork waits for the write in progress."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path

from emailhook.adapters.db.engine import open_database
from emailhook.adapters.db.sqlite_lock import WriterLock
from emailhook.settings import Settings


def _open_files_of(path: Path) -> int:
    return sum(
        os.readlink(f"/proc/self/fd/{fd}") == str(path)
        for fd in os.listdir("/proc/self/fd")
        if os.path.exists(f"/proc/self/fd/{fd}")
    )


def test_threads_racing_to_first_write_share_one_lock_and_leave_it_free(tmp_path: Path) -> None:
    path = tmp_path / "emailhook.db-writer.lock"
    for _ in range(20):  # a fresh lock each round: the race is on the first use
        lock = WriterLock(path)
        start = threading.Barrier(8)

        def write(lock: WriterLock = lock, start: threading.Barrier = start) -> None:
            start.wait()
            for _ in range(20):
                lock.acquire()
                lock.release()

        threads = [threading.Thread(target=write) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert not any(thread.is_alive() for thread in threads), "a writer never got the lock"
    # another open file of it (another process's, as far as flock goes) takes it at once
    probe = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(probe)
    assert _open_files_of(path) <= 20  # one a lock object, however the threads raced


def test_a_process_forked_while_a_thread_writes_can_write_in_the_child(tmp_path: Path) -> None:
    """SQLite keeps a process's locks in memory: a child forked while a thread held the write
    lock could never write ("database is locked"), as Celery's pool processes forked from a
    worker whose relay writes. The fork waits for the write to end."""
    settings = Settings(data_dir=tmp_path, database_url=None)
    database = open_database(settings, lock_timeout_seconds=1)
    with database.engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE probe (n INTEGER)")
    writing = threading.Event()

    def write() -> None:
        with database.engine.begin() as connection:
            connection.exec_driver_sql("INSERT INTO probe VALUES (1)")
            writing.set()
            time.sleep(0.5)  # the fork comes meanwhile

    writer = threading.Thread(target=write)
    writer.start()
    writing.wait(5)
    child = os.fork()
    if child == 0:  # a fresh engine, as a new pool process opens
        code = 1
        try:
            fresh = open_database(settings, lock_timeout_seconds=1)
            with fresh.engine.begin() as connection:
                connection.exec_driver_sql("INSERT INTO probe VALUES (2)")
            code = 0
        finally:
            os._exit(code)
    writer.join(5)
    _, status = os.waitpid(child, 0)

    assert os.waitstatus_to_exitcode(status) == 0, "the child could not write"
    with database.engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT n FROM probe ORDER BY n").all()
    assert [n for (n,) in rows] == [1, 2]
    database.engine.dispose()
