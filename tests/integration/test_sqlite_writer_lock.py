"""The SQLite writers' lock across the threads of one process: the first threads to write
race to open it, and whatever the race, the process holds one open file of it and a release
always unlocks what its acquire locked."""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

from emailhook.adapters.db.sqlite_lock import WriterLock


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
