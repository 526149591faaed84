"""``fdatasync`` without a thread: the kernel runs it (Linux AIO, ``IOCB_CMD_FDSYNC``) and says
when it is done on an eventfd that the event loop watches.

A thread that syncs for an event loop costs a hand-off each way and, above all, a turn at the
GIL after each system call, taken from the loop while it serves requests; the kernel's own
asynchronous sync costs the loop two system calls and nothing else (docs/performance.md,
"Ingest"). Linux has run ``fdatasync`` this way since 4.18; where it cannot (another system,
AIO turned off, no contexts left), :meth:`KernelSync.open` returns None and the caller syncs
on a thread instead.
"""

from __future__ import annotations

import asyncio
import ctypes
import errno
import os
import sys
from collections.abc import Callable

_IO_SETUP, _IO_DESTROY, _IO_GETEVENTS, _IO_SUBMIT = 206, 207, 208, 209  # x86_64
_IOCB_CMD_FDSYNC = 3
_IOCB_FLAG_RESFD = 1


class _Iocb(ctypes.Structure):  # struct iocb, linux/aio_abi.h (little-endian)
    _fields_ = (
        ("aio_data", ctypes.c_uint64),
        ("aio_key", ctypes.c_uint32),
        ("aio_rw_flags", ctypes.c_int32),
        ("aio_lio_opcode", ctypes.c_uint16),
        ("aio_reqprio", ctypes.c_int16),
        ("aio_fildes", ctypes.c_uint32),
        ("aio_buf", ctypes.c_uint64),
        ("aio_nbytes", ctypes.c_uint64),
        ("aio_offset", ctypes.c_int64),
        ("aio_reserved2", ctypes.c_uint64),
        ("aio_flags", ctypes.c_uint32),
        ("aio_resfd", ctypes.c_uint32),
    )


class _Event(ctypes.Structure):  # struct io_event
    _fields_ = (
        ("data", ctypes.c_uint64),
        ("obj", ctypes.c_uint64),
        ("res", ctypes.c_int64),
        ("res2", ctypes.c_int64),
    )


#: called on the loop when a sync ended: None, or the OSError it failed with
Done = Callable[[OSError | None], None]


class KernelSync:
    """Runs one ``fdatasync`` at a time for an event loop; ``done`` is called on the loop."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, done: Done, libc: ctypes.CDLL, context: int
    ) -> None:
        self._loop = loop
        self._done = done
        self._syscall = libc.syscall
        self._context = ctypes.c_ulong(context)
        self._eventfd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._iocb = _Iocb(
            aio_lio_opcode=_IOCB_CMD_FDSYNC, aio_flags=_IOCB_FLAG_RESFD, aio_resfd=self._eventfd
        )
        self._iocbs = (ctypes.POINTER(_Iocb) * 1)(ctypes.pointer(self._iocb))
        self._event = (_Event * 1)()
        loop.add_reader(self._eventfd, self._reap)

    @classmethod
    def open(cls, loop: asyncio.AbstractEventLoop, done: Done) -> KernelSync | None:
        """Return a kernel sync for ``loop``, or None where the kernel offers none."""
        if sys.platform != "linux" or os.uname().machine != "x86_64":
            return None
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        context = ctypes.c_ulong(0)
        if libc.syscall(_IO_SETUP, 4, ctypes.byref(context)) != 0:
            return None  # ENOSYS, EPERM (seccomp), EAGAIN (fs.aio-max-nr reached)
        return cls(loop, done, libc, context.value)

    def start(self, fd: int) -> None:
        """Start syncing ``fd``; ``done`` is called once it ended. Raises OSError if the
        kernel refused to start it (EINVAL: it cannot sync this file asynchronously)."""
        self._iocb.aio_fildes = fd
        if self._syscall(_IO_SUBMIT, self._context, 1, self._iocbs) != 1:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))

    def close(self) -> None:
        self._loop.remove_reader(self._eventfd)
        os.close(self._eventfd)
        self._syscall(_IO_DESTROY, self._context)

    def _reap(self) -> None:
        try:
            os.eventfd_read(self._eventfd)
        except BlockingIOError:  # woken for nothing
            return
        got = self._syscall(_IO_GETEVENTS, self._context, 1, 1, self._event, None)
        if got != 1:
            code = ctypes.get_errno() or errno.EIO
            self._done(OSError(code, f"the sync's end could not be read: {os.strerror(code)}"))
            return
        result = self._event[0].res
        self._done(None if result == 0 else OSError(-result, os.strerror(-result)))
