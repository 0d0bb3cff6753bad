"""ICLLoss: symmetric InfoNCE with sigma^2·cos logits (method.md §4)."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from csa_bench.registry import MODELS


def _batch(b: int = 6, e: int = 8, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    return dict(video_emb=F.normalize(torch.randn(b, e, generator=g), dim=-1),
                image_emb=F.normalize(torch.randn(b, e, generator=g), dim=-1))


def _naive(v: torch.Tensor, u: torch.Tensor, scale: float) -> torch.Tensor:
    """Oracle: per-row -log softmax of the diagonal, both directions, averaged."""
    cos = v @ u.t()
    total = 0.0
    for i in range(v.shape[0]):
        row, col = scale * cos[i], scale * cos[:, i]
        total += -(row[i] - torch.logsumexp(row, 0)) - (col[i] - torch.logsumexp(col, 0))
    return total / (2 * v.shape[0])


def test_matches_naive_oracle_with_sigma_squared_logits() -> None:
    batch = _batch()
    out = MODELS.build(dict(type='ICLLoss', scale_init=4.0))(batch)
    torch.testing.assert_close(out['loss_icl'], _naive(batch['video_emb'], batch['image_emb'], 16.0))
    assert out['logit_scale'].item() == 16.0


def test_v1_fixed_scale_is_100_cos_and_not_a_parameter() -> None:
    loss = MODELS.build(dict(type='ICLLoss', scale_init=10.0, learnable_scale=False))
    assert not list(loss.parameters())
    batch = _batch()
    torch.testing.assert_close(loss(batch)['loss_icl'], _naive(batch['video_emb'], batch['image_emb'], 100.0))


def test_loss_weight_scales_and_gradient_reaches_scale_and_inputs() -> None:
    batch = _batch()
    batch['video_emb'].requires_grad_(True)
    loss = MODELS.build(dict(type='ICLLoss', loss_weight=0.5))
    out = loss(batch)
    torch.testing.assert_close(out['loss_icl'], 0.5 * _naive(batch['video_emb'], batch['image_emb'], 16.0))
    out['loss_icl'].backward()
    assert loss.logit_scale.grad is not None and loss.logit_scale.grad.abs() > 0
    assert batch['video_emb'].grad.abs().sum() > 0


def test_perfect_alignment_gives_full_accuracy() -> None:
    v = torch.eye(4)
    out = MODELS.build(dict(type='ICLLoss', scale_init=10.0))(dict(video_emb=v, image_emb=v))
    assert out['icl_acc'].item() == 1.0
    assert out['loss_icl'].item() < 4 * math.exp(-100) + 1e-6


def test_mask_same_item_removes_duplicates_from_denominators() -> None:
    batch = _batch(b=4)
    batch['labels'] = torch.tensor([0, 1, 0, 2])
    masked = MODELS.build(dict(type='ICLLoss', mask_same_item=True))(batch)['loss_icl']
    # Oracle: drop columns/rows of the same product (other than the positive) before softmax.
    cos = 16.0 * batch['video_emb'] @ batch['image_emb'].t()
    same = (batch['labels'][:, None] == batch['labels'][None]) & ~torch.eye(4, dtype=torch.bool)
    v2i = cos.masked_fill(same, -torch.inf)
    i2v = cos.t().masked_fill(same, -torch.inf)
    target = torch.arange(4)
    expected = 0.5 * (F.cross_entropy(v2i, target) + F.cross_entropy(i2v, target))
    torch.testing.assert_close(masked, expected)
    plain = MODELS.build(dict(type='ICLLoss'))(batch)['loss_icl']
    assert masked < plain


def test_mask_same_item_falls_back_to_item_ids() -> None:
    batch = _batch(b=3)
    batch['labels'] = torch.tensor([-1, -1, -1])
    batch['data_samples'] = [dict(item_id='a'), dict(item_id='b'), dict(item_id='a')]
    with_ids = MODELS.build(dict(type='ICLLoss', mask_same_item=True))(batch)['loss_icl']
    batch['labels'] = torch.tensor([0, 1, 0])
    with_labels = MODELS.build(dict(type='ICLLoss', mask_same_item=True))(batch)['loss_icl']
    torch.testing.assert_close(with_ids, with_labels)
