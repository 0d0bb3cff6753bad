"""An advisory exclusive lock on a folder, held for one process's lifetime (``fcntl.flock``).

Two ``csa-bench reproduce`` processes writing one results folder would interleave result files and
regenerate the leaderboard from each other's half-finished state; the second one is refused,
with the holder's pid and command line in the message. The lock file records the holder and is
left in place (removing it would let a third process lock a fresh file while a second one still
holds the old one); the kernel drops the lock when the holder exits, even on SIGKILL.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path


class LockHeldError(RuntimeError):
    """The lock is held by another process; the message names the lock file and the holder."""


def _holder_line() -> str:
    command = ' '.join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv and sys.argv[0] else 'python'
    return f'pid {os.getpid()} ({command}), since {time.strftime("%Y-%m-%d %H:%M:%S")}\n'


@contextlib.contextmanager
def exclusive_lock(path: str | os.PathLike, purpose: str) -> Iterator[Path]:
    """Hold an exclusive, non-blocking lock on ``path`` (created if needed) for the ``with`` body.

    Args:
        path: the lock file (its folder is created).
        purpose: what the lock protects, for the error message (e.g. ``'results folder X'``).

    Raises:
        LockHeldError: another process holds it; the message names ``path``, the holder's pid and
            command, and what to do.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = ' '.join(os.pread(fd, 4096, 0).decode('utf-8', 'replace').split()) or 'another process'
        os.close(fd)
        raise LockHeldError(f'{purpose} is in use by {holder} (lock {path}); wait for it to finish or '
                            'stop it, or choose another folder') from None
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, _holder_line().encode('utf-8'), 0)
        yield path
    finally:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)   # releases the flock
