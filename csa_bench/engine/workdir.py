"""Work-dir rules for ``csa-bench train``: one run at a time, no silent mixing of runs, resumable copies.

- **Lock.** :func:`locked` holds an exclusive ``fcntl.flock`` on ``WORK_DIR/.lock`` for the whole
  run and writes the holder (pid, host, command, start time) into it; a second run in the same work
  dir fails at once with :class:`WorkDirBusyError` naming that holder. The kernel drops the lock
  when the holder dies (SIGKILL included), so a killed run never blocks its own ``--resume``
  (forked dataloader workers close their copy of the lock, see ``_HELD``).
- **No mixing.** :func:`check_fresh_start` refuses a fresh run in a work dir that holds another
  run's checkpoints (``iter_N.pth``, ``epoch_N.pth``, ``best_*.pth``, ``last_checkpoint``) unless
  the caller resumes or passes ``overwrite``; ``overwrite`` drops only the ``last_checkpoint``
  marker (so a kill before the new run's first checkpoint cannot resume the old run); the old
  checkpoint files are replaced as the new run saves its own.
- **Relative marker.** ``last_checkpoint`` names the checkpoint relative to the work dir
  (:func:`write_last_checkpoint`), so a moved or copied work dir resumes from its own files;
  :func:`resolve_last_checkpoint` still reads the absolute markers of older runs, preferring the
  file of the same name inside the work dir.
- **Stale temporaries.** A kill mid-save leaves ``.NAME.XXXXXXXX.tmp`` siblings (the names
  ``csa_bench.utils.atomic.atomic_write`` gives them); :func:`remove_stale_temporaries` deletes
  those of the files a run writes (checkpoints, marker, dumped config, JSON reports), and only
  while the lock is held, so an in-progress save of a live run is never touched.
"""
from __future__ import annotations

import contextlib
import datetime
import errno
import fcntl
import json
import os
import re
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

LOCK_NAME = '.lock'
MARKER_NAME = 'last_checkpoint'
_CHECKPOINT = re.compile(r'^(?:(?:iter|epoch)_\d+|best_[\w.-]+)\.pth$')
# atomic_write: tempfile.mkstemp(prefix=f'.{name}.', suffix='.tmp') -> '.NAME.' + 8 of [a-z0-9_] + '.tmp'.
_STALE_TMP = re.compile(r'^\.((?:(?:iter|epoch)_\d+|best_[\w.-]+)\.pth|last_checkpoint|[\w.-]+\.(?:py|json))'
                        r'\.[a-z0-9_]{8}\.tmp$')


class WorkDirError(RuntimeError):
    """A work dir that cannot be used as asked (busy, another run's checkpoints, dangling marker)."""


class WorkDirBusyError(WorkDirError):
    """Another live process holds the work dir's lock."""


def _holder_text(lock: Path) -> str:
    try:
        info = json.loads(lock.read_text(encoding='utf-8') or '{}')
    except (OSError, ValueError):
        info = {}
    if not isinstance(info, dict) or 'pid' not in info:
        return 'another process (it has not written its details yet)'
    return (f"pid {info.get('pid')} on {info.get('host')} since {info.get('started')} "
            f"(`{info.get('command')}`)")


#: Lock fds this process holds. Forked children (dataloader workers) close them: a worker that
#: outlives a killed run for a few seconds must not keep the work dir locked.
_HELD: set[int] = set()


def _close_held_in_child() -> None:
    for fd in list(_HELD):
        with contextlib.suppress(OSError):
            os.close(fd)
    _HELD.clear()


os.register_at_fork(after_in_child=_close_held_in_child)


@contextlib.contextmanager
def locked(work_dir: str | os.PathLike) -> Iterator[Path]:
    """Hold ``WORK_DIR/.lock`` exclusively for the block; yields the lock file's path.

    Raises:
        WorkDirBusyError: another process holds it; the message names that process.
    """
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    lock = work_dir / LOCK_NAME
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            if err.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
            raise WorkDirBusyError(f'work dir {work_dir} is in use by {_holder_text(lock)}; wait for that run '
                                   'to finish or stop it, or choose another --work-dir') from None
        holder = {'pid': os.getpid(), 'host': socket.gethostname(), 'command': ' '.join(sys.argv),
                  'started': datetime.datetime.now().astimezone().isoformat(timespec='seconds')}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(holder) + '\n').encode(), 0)
        _HELD.add(fd)
        try:
            yield lock
        finally:
            _HELD.discard(fd)
            os.ftruncate(fd, 0)   # the file stays (removing it would race a waiting locker); it holds no one
    finally:
        os.close(fd)   # releases the lock


def checkpoints_in(work_dir: str | os.PathLike) -> list[str]:
    """Names of the checkpoint files and the ``last_checkpoint`` marker directly in ``work_dir``, sorted."""
    work_dir = Path(work_dir)
    if not work_dir.is_dir():
        return []
    return sorted(p.name for p in work_dir.iterdir()
                  if p.is_file() and (p.name == MARKER_NAME or _CHECKPOINT.match(p.name)))


def check_fresh_start(work_dir: str | os.PathLike, *, overwrite: bool) -> None:
    """Allow a run from iteration 0 in ``work_dir`` only when it holds no other run's checkpoints.

    Raises:
        WorkDirError: it does and ``overwrite`` is False; the message lists them and the options.
    """
    found = checkpoints_in(work_dir)
    if not found:
        return
    if not overwrite:
        shown = ', '.join(found[:4]) + (f' (+{len(found) - 4} more)' if len(found) > 4 else '')
        raise WorkDirError(f'work dir {work_dir} already holds checkpoints of another run ({shown}); pass '
                           '--resume to continue it, --overwrite to start over in it (its checkpoints are '
                           'replaced as the new run saves), or choose another --work-dir')
    marker = Path(work_dir) / MARKER_NAME
    if marker.is_file():
        marker.unlink()


def write_last_checkpoint(work_dir: str | os.PathLike, checkpoint: str | os.PathLike) -> None:
    """Write the ``last_checkpoint`` marker atomically, relative to ``work_dir`` when inside it."""
    from csa_bench.utils.atomic import write_text_atomic

    work_dir, path = Path(work_dir), Path(checkpoint)
    try:
        text = str(path.resolve().relative_to(work_dir.resolve()))
    except ValueError:   # saved outside the work dir (out_dir): only an absolute path finds it
        text = str(path.resolve())
    write_text_atomic(work_dir / MARKER_NAME, text)


def resolve_last_checkpoint(work_dir: str | os.PathLike) -> Path | None:
    """The checkpoint the ``last_checkpoint`` marker names, or None when there is no marker.

    A relative marker resolves against ``work_dir``; an absolute one (older runs) resolves to the
    file of the same name inside ``work_dir`` when that exists (a moved or copied work dir), else
    to the absolute path.

    Raises:
        WorkDirError: the marker names a file that does not exist.
    """
    marker = Path(work_dir) / MARKER_NAME
    if not marker.is_file():
        return None
    text = marker.read_text(encoding='utf-8').strip()
    if not text:
        raise WorkDirError(f'{marker} is empty; pass --resume PATH to name the checkpoint to resume from')
    named = Path(text)
    candidates = [Path(work_dir) / named] if not named.is_absolute() else [Path(work_dir) / named.name, named]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise WorkDirError(f'{marker} names {text}, which does not exist; pass --resume PATH to name the '
                       'checkpoint to resume from')


def remove_stale_temporaries(work_dir: str | os.PathLike) -> list[Path]:
    """Delete the temporaries a killed atomic save left directly in ``work_dir``; returns them.

    Only names of the form ``.NAME.XXXXXXXX.tmp`` for files a run writes are touched. Call it
    while holding :func:`locked`.
    """
    work_dir = Path(work_dir)
    if not work_dir.is_dir():
        return []
    removed = []
    for path in sorted(work_dir.iterdir()):
        if _STALE_TMP.match(path.name) and path.is_file() and not path.is_symlink():
            path.unlink()
            removed.append(path)
    return removed
