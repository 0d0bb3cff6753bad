"""The torch>=2.6 resume fix: mmengine's local loader must read full checkpoints, and name corrupt ones."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint

from csa_bench.engine.checkpoint import CorruptCheckpointError


def _full_checkpoint() -> dict:
    # What mmengine's Runner saves: non-tensor pickles that weights_only=True refuses.
    return {'meta': {'iter': 7, 'seed': 42, 'np_state': np.random.RandomState(0).get_state()},
            'state_dict': {'w': torch.arange(4.0)}, 'message_hub': {'log_scalars': {'x': [1.0, 2.0]}}}


def test_plain_torch_load_refuses_full_checkpoint(tmp_path) -> None:
    """Documents why the shim exists (if torch changes its default, this test tells us)."""
    path = tmp_path / 'iter_7.pth'
    torch.save(_full_checkpoint(), path)
    with pytest.raises(pickle.UnpicklingError, match='weights_only'):
        torch.load(path)


def test_mmengine_loader_reads_full_checkpoint(tmp_path) -> None:
    import csa_bench.engine  # noqa: F401  installs the loader

    path = tmp_path / 'iter_7.pth'
    torch.save(_full_checkpoint(), path)
    ckpt = _load_checkpoint(str(path), map_location='cpu')
    assert ckpt['meta']['iter'] == 7
    assert torch.equal(ckpt['state_dict']['w'], torch.arange(4.0))
    assert CheckpointLoader._get_checkpoint_loader(str(path)).__module__ == 'csa_bench.engine.checkpoint'


def test_truncated_checkpoint_is_named(tmp_path) -> None:
    import csa_bench.engine  # noqa: F401

    path = tmp_path / 'iter_8.pth'
    torch.save(_full_checkpoint(), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptCheckpointError, match='iter_8.pth'):
        _load_checkpoint(str(path), map_location='cpu')
