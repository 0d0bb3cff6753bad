"""mmengine's local checkpoint loader reads plain data only; the Runner writes plain data; corrupt files are named."""
from __future__ import annotations

import pickle
import random
from collections import OrderedDict

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint

from csa_bench.engine.checkpoint import (
    CorruptCheckpointError,
    UnsafeCheckpointError,
    from_plain,
    save_plain_checkpoint,
    to_plain,
    unsafe_loading,
)


def _full_checkpoint() -> dict:
    # What mmengine's Runner hands to save_checkpoint: numpy arrays/scalars and HistoryBuffers.
    buffer = HistoryBuffer()
    for value in (1.5, 2.5, 4.0):
        buffer.update(value)
    state = torch.nn.BatchNorm1d(3).state_dict()   # an OrderedDict with _metadata (module versions)
    return {'meta': {'iter': 7, 'seed': 42, 'eta': np.float64(3.25), 'np_state': np.random.RandomState(0).get_state()},
            'state_dict': state, 'message_hub': {'log_scalars': OrderedDict(loss=buffer), 'runtime_info': {},
                                                 'resumed_keys': {'loss': True}},
            'rng_state': {'python': random.getstate()}}


def test_plain_torch_load_refuses_full_checkpoint(tmp_path) -> None:
    """Why the plain format exists (if torch changes its default, this test tells us)."""
    path = tmp_path / 'iter_7.pth'
    torch.save(_full_checkpoint(), path)
    with pytest.raises(pickle.UnpicklingError, match='weights_only'):
        torch.load(path)


def test_full_pickle_is_refused_unless_unsafe_load(tmp_path) -> None:
    import csa_bench.engine  # noqa: F401  installs the loader

    path = tmp_path / 'iter_7.pth'
    torch.save(_full_checkpoint(), path)
    assert CheckpointLoader._get_checkpoint_loader(str(path)).__module__ == 'csa_bench.engine.checkpoint'
    with pytest.raises(UnsafeCheckpointError, match=f'checkpoint {path} is not plain weights.*--unsafe-load'):
        _load_checkpoint(str(path), map_location='cpu')
    with unsafe_loading():
        ckpt = _load_checkpoint(str(path), map_location='cpu')
    assert ckpt['meta']['iter'] == 7


def test_plain_checkpoint_round_trips_with_weights_only(tmp_path) -> None:
    import csa_bench.engine  # noqa: F401

    original = _full_checkpoint()
    path = tmp_path / 'iter_7.pth'
    save_plain_checkpoint(original, str(path))
    raw = torch.load(path, weights_only=True)   # plain data: torch's safe loader reads it
    assert raw['csa_bench_format'] == 1
    ckpt = _load_checkpoint(str(path), map_location='cpu')
    np_state, restored = original['meta']['np_state'], ckpt['meta']['np_state']
    assert restored[0] == np_state[0] and restored[1].dtype == np.uint32
    assert np.array_equal(restored[1], np_state[1]) and restored[2:] == np_state[2:]
    assert ckpt['meta']['eta'] == 3.25 and type(ckpt['meta']['eta']) is float
    buffer = ckpt['message_hub']['log_scalars']['loss']
    assert isinstance(buffer, HistoryBuffer) and buffer.mean() == pytest.approx(8 / 3)
    assert np.array_equal(buffer.data[0], original['message_hub']['log_scalars']['loss'].data[0])
    assert ckpt['rng_state']['python'] == original['rng_state']['python']
    assert ckpt['state_dict']._metadata == original['state_dict']._metadata
    for key, value in original['state_dict'].items():
        assert torch.equal(ckpt['state_dict'][key], value)


def test_non_plain_value_fails_the_save_naming_its_key(tmp_path) -> None:
    with pytest.raises(TypeError, match=r'checkpoint\.message_hub\.runtime_info\.thing: .*Path'):
        to_plain({'message_hub': {'runtime_info': {'thing': tmp_path}}})


def test_from_plain_keeps_objects_without_tags() -> None:
    state = torch.nn.Linear(2, 2).state_dict()
    assert from_plain(state) is state


def test_truncated_checkpoint_is_named(tmp_path) -> None:
    import csa_bench.engine  # noqa: F401

    path = tmp_path / 'iter_8.pth'
    save_plain_checkpoint(_full_checkpoint(), str(path))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptCheckpointError, match='iter_8.pth'):
        _load_checkpoint(str(path), map_location='cpu')
