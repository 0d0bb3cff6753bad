"""The RNG capture/restore pair that makes resume exact: every stream round-trips, tensors from any device."""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from csa_bench.engine.hooks import capture_rng_state, restore_rng_state


def _draw() -> tuple:
    return random.random(), float(np.random.rand()), torch.rand(3).tolist()


def test_round_trip_restores_python_numpy_torch() -> None:
    state = capture_rng_state()
    first = _draw()
    _draw()
    restore_rng_state(state)
    assert _draw() == first


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_round_trip_restores_cuda_from_a_gpu_mapped_checkpoint() -> None:
    torch.cuda.init()
    state = capture_rng_state()
    assert 'cuda' in state
    first = torch.rand(3, device='cuda').tolist()
    # mmengine resumes with map_location=<device>: the saved states come back as CUDA tensors.
    moved = dict(state, torch=state['torch'].cuda(), cuda=[s.cuda() for s in state['cuda']])
    restore_rng_state(moved)
    assert torch.rand(3, device='cuda').tolist() == first
