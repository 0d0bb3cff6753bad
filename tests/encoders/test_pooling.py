"""MeanPooling: masked mean that ignores padded frames exactly (method.md §3, §12)."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from csa_bench.registry import MODELS


def test_masked_mean_ignores_padded_frames_exactly() -> None:
    pool = MODELS.build(dict(type='MeanPooling'))
    emb = torch.randn(2, 4, 8)
    mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]], dtype=torch.bool)
    garbage = emb.clone()
    garbage[0, 2:] = torch.tensor(float('nan'))  # padded slots hold anything, even NaN
    out = pool(garbage, mask)
    assert torch.equal(out[0], (emb[0, 0] + emb[0, 1]) / 2)
    torch.testing.assert_close(out[1], emb[1].mean(0))


def test_norm_first_normalises_each_frame() -> None:
    pool = MODELS.build(dict(type='MeanPooling', norm_first=True))
    emb = torch.randn(1, 3, 8) * torch.tensor([1.0, 10.0, 100.0])[None, :, None]
    mask = torch.tensor([[1, 1, 0]], dtype=torch.bool)
    expected = (F.normalize(emb[0, 0], dim=0) + F.normalize(emb[0, 1], dim=0)) / 2
    torch.testing.assert_close(pool(emb, mask)[0], expected)


def test_clip_without_frames_is_an_error() -> None:
    pool = MODELS.build(dict(type='MeanPooling'))
    with pytest.raises(ValueError, match='no real frame'):
        pool(torch.randn(2, 3, 4), torch.tensor([[1, 0, 0], [0, 0, 0]], dtype=torch.bool))
