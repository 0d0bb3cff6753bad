"""The one place where csa_bench adapts mmengine 0.10.x checkpoint saving and loading.

**No code runs from a checkpoint.** Every local checkpoint is read with
``torch.load(weights_only=True)``: tensors, numbers, strings, lists, tuples and dicts only, so a file
carrying a pickled ``__reduce__`` payload (or any other class) is refused with
:class:`UnsafeCheckpointError` naming the file and the global it would import, and nothing in it
runs. That holds for ``--resume``, ``load_from``, ``csa-bench test`` and the result provenance
(:func:`load_checkpoint_file` is the single reader).

Our own checkpoints load that way because they are written as plain data: mmengine's Runner puts
numpy arrays, numpy scalars and ``HistoryBuffer`` objects (the message hub's log scalars) in the
checkpoint; :func:`to_plain` turns each into tensors/ints/floats inside a small tagged dict right
before the file is written, and :func:`from_plain` turns them back right after it is read, so
mmengine's resume logic and our hooks see exactly what they saved. Anything else that is not plain
data makes the save fail, naming its key path: a checkpoint we write is always loadable safely.

A checkpoint written before this format (a full pickle, e.g. by csa_bench before weights-only loading
or by plain mmengine) loads only inside :func:`unsafe_loading` (``--unsafe-load`` on the CLI,
``unsafe_load=True`` in the API or the config), with a warning: it is fully unpickled then, so
it must come from someone you trust.

Writes are atomic too (a crash mid-save must never leave a truncated ``iter_N.pth`` that
``--resume`` would pick): :class:`AtomicLocalBackend` replaces mmengine's local storage backend, so
every ``put``/``put_text`` (checkpoints, dumped configs) goes to a temporary sibling, is fsynced and
renamed; :class:`AtomicCheckpointHook` also writes the ``last_checkpoint`` marker atomically (relative
to the work dir, see ``csa_bench.engine.workdir``), deletes old checkpoints only after the new one is
complete, records the config file and hash in ``meta``, and refuses to save non-finite weights.

``install()`` is idempotent and runs when ``csa_bench.engine`` is imported.
"""
from __future__ import annotations

import contextlib
import logging
import os
import os.path as osp
import pickle
import re
import zipfile
from collections import OrderedDict, deque
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import numpy as np
import torch
from mmengine.dist import is_main_process
from mmengine.fileio.backends import LocalBackend, register_backend
from mmengine.hooks import CheckpointHook
from mmengine.logging import HistoryBuffer, print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import checkpoint as _mm_checkpoint
from mmengine.runner import runner as _mm_runner
from mmengine.runner.checkpoint import CheckpointLoader

from csa_bench.registry import HOOKS
from csa_bench.utils.atomic import atomic_write

from . import workdir


class CorruptCheckpointError(RuntimeError):
    """A checkpoint file exists but cannot be read (truncated, not a torch file, ...)."""


class UnsafeCheckpointError(RuntimeError):
    """A checkpoint is not plain data (it would import a class or function); it was not unpickled."""


class NonFiniteWeightsError(FloatingPointError):
    """The model holds NaN/inf parameters or buffers at a checkpoint step; nothing was saved."""


# ------------------------------------------------------------------------------------ plain format
#: Written into every checkpoint we save (the format of its tagged values).
FORMAT_KEY = 'csa_bench_format'
FORMAT_VERSION = 1
_TAG_NDARRAY = '__csa_bench_ndarray__'        # {tag: tensor}                      -> np.ndarray
_TAG_HISTORY = '__csa_bench_history_buffer__'  # {tag: {'log', 'count': tensor, 'max_length': int}}
_PASS = (torch.Tensor, torch.Size, torch.dtype, torch.device, type(None))


def _plain_array(array: np.ndarray, where: str) -> torch.Tensor:
    if array.dtype.kind not in 'biuf':
        raise TypeError(f'{where}: numpy array of dtype {array.dtype} cannot be saved as plain data')
    return torch.from_numpy(np.array(array, copy=True, order='C'))


def to_plain(obj: Any, where: str = 'checkpoint') -> Any:
    """``obj`` with numpy arrays/scalars and ``HistoryBuffer`` objects replaced by plain tagged data.

    Containers are rebuilt (the caller's objects are not modified); an ``OrderedDict`` keeps its
    ``_metadata`` (module versions that ``load_state_dict`` reads). Tensors pass through untouched.

    Raises:
        TypeError: a value that is none of tensor, number, string, bytes, None, list, tuple, dict,
            numpy array/scalar or ``HistoryBuffer``; the message names its key path (``where``).
    """
    if isinstance(obj, _PASS):
        return obj
    if isinstance(obj, bool | np.bool_):
        return bool(obj)
    if isinstance(obj, int | np.integer):      # also IntEnum and numpy ints
        return int(obj)
    if isinstance(obj, float | np.floating):   # np.float64 subclasses float but pickles as numpy
        return float(obj)
    if isinstance(obj, str):
        return str(obj)
    if isinstance(obj, bytes):
        return bytes(obj)
    if isinstance(obj, np.ndarray):
        return {_TAG_NDARRAY: _plain_array(obj, where)}
    if isinstance(obj, HistoryBuffer):
        log, count = obj.data
        return {_TAG_HISTORY: {'log': _plain_array(log, where), 'count': _plain_array(count, where),
                               'max_length': int(obj.max_length)}}
    if isinstance(obj, dict):
        out: dict = OrderedDict() if isinstance(obj, OrderedDict) else {}
        for key, value in obj.items():
            if not isinstance(key, str | int | float | bool | type(None)):
                raise TypeError(f'{where}: key {key!r} of type {type(key).__name__} cannot be saved as plain data')
            out[to_plain(key)] = to_plain(value, f'{where}.{key}')
        if isinstance(getattr(obj, '_metadata', None), dict):
            out._metadata = to_plain(obj._metadata, f'{where}._metadata')  # type: ignore[attr-defined]
        return out
    if isinstance(obj, list | deque):
        return [to_plain(v, f'{where}[{i}]') for i, v in enumerate(obj)]
    if isinstance(obj, tuple):
        return tuple(to_plain(v, f'{where}[{i}]') for i, v in enumerate(obj))
    raise TypeError(f'{where}: {type(obj).__module__}.{type(obj).__qualname__} cannot be saved as plain data '
                    '(checkpoints hold tensors, numbers, strings, lists and dicts only, so that loading '
                    'them never runs code); store its state as plain values instead')


def _array(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy().copy()


def from_plain(obj: Any) -> Any:
    """Inverse of :func:`to_plain`: tagged dicts become numpy arrays and ``HistoryBuffer`` objects again."""
    if isinstance(obj, dict):
        if len(obj) == 1 and _TAG_NDARRAY in obj:
            return _array(obj[_TAG_NDARRAY])
        if len(obj) == 1 and _TAG_HISTORY in obj:
            state = obj[_TAG_HISTORY]
            buffer = HistoryBuffer(max_length=int(state['max_length']))
            buffer._log_history, buffer._count_history = _array(state['log']), _array(state['count'])
            return buffer
        changed = {k: from_plain(v) for k, v in obj.items() if isinstance(v, dict | list | tuple)}
        if not any(changed[k] is not obj[k] for k in changed):
            return obj   # keep the very object (a state_dict keeps its _metadata)
        out = obj.copy()
        out.update(changed)
        if hasattr(obj, '_metadata'):
            out._metadata = obj._metadata
        return out
    if isinstance(obj, list | tuple):
        items = [from_plain(v) for v in obj]
        if all(a is b for a, b in zip(items, obj)):
            return obj
        return type(obj)(items)
    return obj


# ------------------------------------------------------------------------------------------ load
_UNSAFE_LOAD: ContextVar[bool] = ContextVar('csa_bench_unsafe_load', default=False)
_UNSAFE_HINT = ('If you wrote it yourself (csa_bench before weights-only checkpoints, or plain mmengine) and '
                'trust it, pass --unsafe-load (API/config: unsafe_load=True)')


@contextlib.contextmanager
def unsafe_loading(enabled: bool = True) -> Iterator[None]:
    """Within this block, a checkpoint that is not plain data is fully unpickled (with a warning)."""
    token = _UNSAFE_LOAD.set(bool(enabled))
    try:
        yield
    finally:
        _UNSAFE_LOAD.reset(token)


def _globals_in(filename: str, message: str) -> list[str]:
    """The classes/functions a checkpoint would import; read from the pickle opcodes, never executed."""
    try:
        found = torch.serialization.get_unsafe_globals_in_checkpoint(filename)
    except Exception:   # noqa: BLE001  (not a zip checkpoint: fall back to torch's own refusal text)
        found = []
    return found or re.findall(r'GLOBAL ([\w.]+)', message)


def load_checkpoint_file(filename: str | os.PathLike, map_location: Any = None, *, mmap: bool = False) -> Any:
    """Read a checkpoint as plain data (``torch.load(weights_only=True)``), decoded by :func:`from_plain`.

    Args:
        mmap: Map the file instead of reading it (cheap when only ``meta`` is needed).

    Raises:
        FileNotFoundError: no such file.
        UnsafeCheckpointError: the file would import a class or function (a pickled object, maybe a
            code payload); nothing was unpickled. Inside :func:`unsafe_loading` it is loaded instead.
        CorruptCheckpointError: the file cannot be read (truncated, not a torch file).
    """
    filename = osp.expanduser(str(filename))
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} can not be found.')
    try:
        return from_plain(torch.load(filename, map_location=map_location, weights_only=True, mmap=mmap))
    except PermissionError:
        raise
    except pickle.UnpicklingError as err:
        imports = _globals_in(filename, str(err))
        if not imports:
            raise CorruptCheckpointError(_corrupt_message(filename, err)) from None
        listed = ', '.join(imports[:5]) + (f' (+{len(imports) - 5} more)' if len(imports) > 5 else '')
        if not _UNSAFE_LOAD.get():
            raise UnsafeCheckpointError(
                f'checkpoint {filename} is not plain weights: loading it would import {listed}, which can run '
                f'arbitrary code; refused, nothing in it was executed. {_UNSAFE_HINT}') from None
        print_log(f'--unsafe-load: fully unpickling checkpoint {filename} (it imports {listed}); only do this '
                  'for files you trust', logger='current', level=logging.WARNING)
        return from_plain(torch.load(filename, map_location=map_location, weights_only=False))
    # A truncated zip surfaces as RuntimeError or, for short files, OSError(EINVAL) from the reader.
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError) as err:
        raise CorruptCheckpointError(_corrupt_message(filename, err)) from err


def _corrupt_message(filename: str, err: BaseException) -> str:
    reason = ' '.join(str(err).split())
    reason = reason[:200] + ('...' if len(reason) > 200 else '')
    return (f'checkpoint {filename} is corrupt or truncated ({type(err).__name__}: {reason}); '
            'delete it and resume from an earlier iter_N.pth')


def load_local_checkpoint(filename: str, map_location=None) -> dict:
    """mmengine's local-file loader (``CheckpointLoader`` scheme ``''``): :func:`load_checkpoint_file`."""
    return load_checkpoint_file(filename, map_location)


# ------------------------------------------------------------------------------------------ save
_mm_save_checkpoint = _mm_checkpoint.save_checkpoint


def save_plain_checkpoint(checkpoint: dict, filename: str, file_client_args: dict | None = None,
                          backend_args: dict | None = None) -> None:
    """mmengine's ``save_checkpoint`` for the checkpoint dict after :func:`to_plain` (plus the format key)."""
    plain = to_plain(checkpoint)
    plain[FORMAT_KEY] = FORMAT_VERSION
    _mm_save_checkpoint(plain, filename, file_client_args=file_client_args, backend_args=backend_args)


class AtomicLocalBackend(LocalBackend):
    """mmengine's local storage backend, with writes that are all-or-nothing (tmp + fsync + rename)."""

    def put(self, obj: bytes, filepath: str | Path) -> None:
        with atomic_write(filepath, 'wb') as handle:
            handle.write(obj)

    def put_text(self, obj: str, filepath: str | Path, encoding: str = 'utf-8') -> None:
        with atomic_write(filepath, 'w', encoding=encoding) as handle:
            handle.write(obj)


def first_nonfinite_tensor(module: torch.nn.Module) -> str | None:
    """Name of the first parameter or floating buffer holding NaN/inf, or None when all are finite."""
    for name, tensor in [*module.named_parameters(), *module.named_buffers()]:
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            return name
    return None


def config_identity(cfg: Any) -> dict:
    """``{'config_file', 'config_hash'}`` of a run's config, recorded in every checkpoint's ``meta``."""
    from csa_bench.results import config_hash   # lazy: results imports the model registry on use only

    identity = {'config_file': str(getattr(cfg, 'filename', None) or cfg.get('filename') or '')}
    try:
        identity['config_hash'] = config_hash(cfg)
    except (TypeError, ValueError):   # an unhashable custom value: the file name still identifies it
        pass
    return identity


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` that never leaves a broken or misleading checkpoint behind.

    Differences from mmengine's hook (same arguments, same ``iter_N.pth`` names):

    - the checkpoint file and the ``last_checkpoint`` marker are written atomically (the file via
      :class:`AtomicLocalBackend`), so a kill mid-save leaves the previous checkpoint and marker; the
      marker names the checkpoint relative to the work dir, so a moved or copied work dir resumes
      from its own files;
    - with ``max_keep_ckpts``, the oldest checkpoint is deleted *after* the new one is on disk
      (mmengine deletes first, so a crash mid-save leaves one checkpoint fewer than promised);
    - ``meta`` records ``config_file`` and ``config_hash``, so a checkpoint that does not fit a
      config can say which config it came from;
    - a model with non-finite parameters or buffers raises :class:`NonFiniteWeightsError` naming
      the step and tensor instead of being saved: the last checkpoint stays the last good one.
    """

    def _save_checkpoint_with_step(self, runner, step: int, meta: dict) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        bad = first_nonfinite_tensor(model)
        if bad is not None:
            raise NonFiniteWeightsError(
                f'step {step}: parameter/buffer {bad!r} is not finite; refusing to save '
                f'{self.filename_tmpl.format(step)}; last good checkpoint: '
                f'{runner.message_hub.get_info("last_ckpt") or "none"}')
        meta = dict(meta, **config_identity(runner.cfg))
        dropped: list[int] = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            kept = [*self.keep_ckpt_ids, step]
            dropped, kept = kept[:-self.max_keep_ckpts], kept[-self.max_keep_ckpts:]
            self.keep_ckpt_ids = deque(kept, self.max_keep_ckpts)
            # Recorded before saving, so the checkpoint's message hub already lists itself.
            runner.message_hub.update_info('keep_ckpt_ids', kept)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(step))
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir, self.filename_tmpl.format(step), self.file_client_args,
            save_optimizer=self.save_optimizer, save_param_scheduler=self.save_param_scheduler,
            meta=meta, by_epoch=self.by_epoch, backend_args=self.backend_args, **self.args)
        if not is_main_process():
            return
        workdir.write_last_checkpoint(runner.work_dir, self.last_ckpt)
        for old in dropped:
            path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(old))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):   # DeepSpeed-style checkpoint folders
                self.file_backend.rmtree(path)


def find_latest_checkpoint(path: str) -> str | None:
    """mmengine's auto-resume lookup, reading ``last_checkpoint`` relative to the work dir ``path``."""
    found = workdir.resolve_last_checkpoint(path)
    return str(found) if found is not None else None


def install() -> None:
    """Read local checkpoints as plain data, write every Runner checkpoint as plain data, atomically;
    resolve ``last_checkpoint`` against the work dir."""
    CheckpointLoader.register_scheme(prefixes='', loader=load_local_checkpoint, force=True)
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')
    # Runner.save_checkpoint / load_or_resume call the names runner.py imported from mmengine.runner.checkpoint.
    _mm_runner.save_checkpoint = save_plain_checkpoint
    _mm_runner.find_latest_checkpoint = find_latest_checkpoint


install()
