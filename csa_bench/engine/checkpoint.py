"""The one place where csa_bench adapts mmengine 0.10.x checkpoint loading to torch >= 2.6.

mmengine 0.10.x loads local checkpoints with ``torch.load(filename, map_location=...)``. Since
torch 2.6, ``torch.load`` defaults to ``weights_only=True``, which refuses the full checkpoints
mmengine writes (they pickle the message hub, numpy RNG state, config text, ...), so
``--resume`` fails. We re-register mmengine's local-file scheme with a loader that passes
``weights_only=False`` — checkpoints are local files this suite wrote itself, the same trust
mmengine assumed before torch 2.6 — and that names the file when it is truncated or corrupt
instead of surfacing a bare ``UnpicklingError``/``RuntimeError``.

Writes are atomic too (a crash mid-save must never leave a truncated ``iter_N.pth`` that
``--resume`` would pick): :class:`AtomicLocalBackend` replaces mmengine's local storage backend, so
every ``put``/``put_text`` (checkpoints, dumped configs) goes to a temporary sibling, is fsynced and
renamed; :class:`AtomicCheckpointHook` also writes the ``last_checkpoint`` marker atomically, deletes
old checkpoints only after the new one is complete, and refuses to save non-finite weights.

``install()`` is idempotent and runs when ``csa_bench.engine`` is imported.
"""
from __future__ import annotations

import os.path as osp
import pickle
import zipfile
from collections import deque
from pathlib import Path

import torch
from mmengine.dist import is_main_process
from mmengine.fileio.backends import LocalBackend, register_backend
from mmengine.hooks import CheckpointHook
from mmengine.model import is_model_wrapper
from mmengine.runner.checkpoint import CheckpointLoader

from csa_bench.registry import HOOKS
from csa_bench.utils.atomic import atomic_write, write_text_atomic


class CorruptCheckpointError(RuntimeError):
    """A checkpoint file exists but cannot be read (truncated, not a torch file, ...)."""


def load_local_checkpoint(filename: str, map_location=None) -> dict:
    """Load a local checkpoint written by mmengine (full pickle, not weights only).

    Raises:
        FileNotFoundError: no such file.
        CorruptCheckpointError: the file cannot be unpickled; the message names it.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} can not be found.')
    try:
        return torch.load(filename, map_location=map_location, weights_only=False)
    except PermissionError:
        raise
    # A truncated zip surfaces as RuntimeError or, for short files, OSError(EINVAL) from the reader.
    except (RuntimeError, EOFError, OSError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError) as err:
        raise CorruptCheckpointError(
            f'checkpoint {filename} is corrupt or truncated ({type(err).__name__}: {err}); '
            'delete it and resume from an earlier iter_N.pth') from err


class NonFiniteWeightsError(FloatingPointError):
    """The model holds NaN/inf parameters or buffers at a checkpoint step; nothing was saved."""


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


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` that never leaves a broken or misleading checkpoint behind.

    Differences from mmengine's hook (same arguments, same ``iter_N.pth`` names):

    - the checkpoint file and the ``last_checkpoint`` marker are written atomically (the file via
      :class:`AtomicLocalBackend`), so a kill mid-save leaves the previous checkpoint and marker;
    - with ``max_keep_ckpts``, the oldest checkpoint is deleted *after* the new one is on disk
      (mmengine deletes first, so a crash mid-save leaves one checkpoint fewer than promised);
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
        write_text_atomic(osp.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt)
        for old in dropped:
            path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(old))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):   # DeepSpeed-style checkpoint folders
                self.file_backend.rmtree(path)


def install() -> None:
    """Read local checkpoints with :func:`load_local_checkpoint`; write local files atomically."""
    CheckpointLoader.register_scheme(prefixes='', loader=load_local_checkpoint, force=True)
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')


install()
