"""The one place where csa_bench adapts mmengine 0.10.x checkpoint loading to torch >= 2.6.

mmengine 0.10.x loads local checkpoints with ``torch.load(filename, map_location=...)``. Since
torch 2.6, ``torch.load`` defaults to ``weights_only=True``, which refuses the full checkpoints
mmengine writes (they pickle the message hub, numpy RNG state, config text, ...), so
``--resume`` fails. We re-register mmengine's local-file scheme with a loader that passes
``weights_only=False`` — checkpoints are local files this suite wrote itself, the same trust
mmengine assumed before torch 2.6 — and that names the file when it is truncated or corrupt
instead of surfacing a bare ``UnpicklingError``/``RuntimeError``.

``install()`` is idempotent and runs when ``csa_bench.engine`` is imported.
"""
from __future__ import annotations

import os.path as osp
import pickle
import zipfile

import torch
from mmengine.runner.checkpoint import CheckpointLoader


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
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError) as err:
        raise CorruptCheckpointError(
            f'checkpoint {filename} is corrupt or truncated ({type(err).__name__}: {err}); '
            'delete it and resume from an earlier iter_N.pth') from err


def install() -> None:
    """Make mmengine's local-file scheme (prefix '') use :func:`load_local_checkpoint`."""
    CheckpointLoader.register_scheme(prefixes='', loader=load_local_checkpoint, force=True)


install()
