"""The example plugin's own tests (run by csa_bench's CI through tests/foundation/test_example_plugin.py)."""
from __future__ import annotations

import pytest
import torch

from csa_bench_maxpool.pooling import MaskedMaxPooling


def test_max_over_real_frames_only() -> None:
    frames = torch.tensor([[[1.0, -5.0], [3.0, -1.0], [100.0, 100.0]]])
    mask = torch.tensor([[True, True, False]])   # the padded third frame must not win
    assert torch.equal(MaskedMaxPooling()(frames, mask), torch.tensor([[3.0, -1.0]]))


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match='no real frame'):
        MaskedMaxPooling()(torch.zeros(1, 2, 3), torch.zeros(1, 2, dtype=torch.bool))
    with pytest.raises(ValueError, match='disagree'):
        MaskedMaxPooling()(torch.zeros(1, 2, 3), torch.ones(1, 3, dtype=torch.bool))


def test_registered_under_the_csa_bench_scope() -> None:
    from csa_bench.registry import MODELS

    assert MODELS.get('MaskedMaxPooling') is MaskedMaxPooling
