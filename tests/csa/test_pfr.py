"""PFR: head init identity, padded-frame masking and the exact gradient paths (method.md §6, §12)."""
from __future__ import annotations

import pytest
import torch

from csa_bench.registry import MODELS

from .rice_helpers import token_batch


def _pmd(heads: int = 4):
    return MODELS.build(dict(type='PMDLoss', width=16, num_heads=heads, pmd_init='random', attn_drop=0.1))


def test_head_output_is_half_heads_times_head_sum_at_init() -> None:
    for heads in (4, 8):
        pfr = MODELS.build(dict(type='PFRLoss', num_heads=heads))
        maps = torch.rand(2, heads, 5, 15)
        torch.testing.assert_close(pfr.attention_logits(maps), (heads / 2) * maps.sum(1))


def test_reconstruction_and_padded_frames() -> None:
    batch = token_batch(b=4)
    _pmd()(batch)
    masked = MODELS.build(dict(type='PFRLoss', num_heads=4))
    leaky = MODELS.build(dict(type='PFRLoss', num_heads=4, mask_padded=False))
    # Oracle for the default: softmax over real keys only, values are the real frames' tokens.
    key_mask = batch['frame_mask'].repeat_interleave(5, dim=1)
    logits = masked.attention_logits(batch['pmd_positive_maps'])
    values = batch['frame_tokens'].reshape(4, 15, 16)
    expected = []
    for i in range(4):
        w = logits[i][:, key_mask[i]].softmax(-1)
        expected.append(((w @ values[i][key_mask[i]] - batch['image_tokens'][i]) ** 2).mean())
    torch.testing.assert_close(masked(batch)['loss_pfr'], torch.stack(expected).mean())
    # Clip 0 has 1 of 3 frames: the official leak puts mass on its 10 padded keys, so the losses differ.
    assert not torch.allclose(masked(batch)['loss_pfr'], leaky(batch)['loss_pfr'])
    full = token_batch(b=4)
    full['frame_mask'][:] = True
    _pmd()(full)
    torch.testing.assert_close(masked(full)['loss_pfr'], leaky(full)['loss_pfr'])


def test_gradients_reach_exactly_the_attention_paths() -> None:
    batch = token_batch(b=4, requires_grad=True)
    pmd, pfr = _pmd(), MODELS.build(dict(type='PFRLoss', num_heads=4))
    pmd(batch)
    pfr(batch)['loss_pfr'].backward()
    dec, width = pmd.decoder, 16
    cross = dec.cross_block
    grad = lambda p: 0.0 if p.grad is None else p.grad.abs().sum().item()
    # Reached: W_q, W_k (+ b_q), the cross LN on the query, the self block, both encoder views, the head.
    assert grad(cross.attn.in_proj_weight) > 0
    assert cross.attn.in_proj_weight.grad[: 2 * width].abs().sum() > 0
    assert cross.attn.in_proj_bias.grad[:width].abs().sum() > 0
    assert grad(cross.ln_1.weight) > 0
    assert all(grad(p) > 0 for p in dec.self_block.parameters())
    assert all(grad(p) > 0 for p in pfr.parameters() if p.dim() > 1)
    assert grad(batch['image_tokens']) > 0 and grad(batch['frame_tokens']) > 0
    # Not reached: W_v (+ b_v), W_o, the cross MLP and LN_2, the pooler, w.
    assert cross.attn.in_proj_weight.grad[2 * width:].abs().sum() == 0
    assert cross.attn.in_proj_bias.grad[2 * width:].abs().sum() == 0
    assert cross.attn.in_proj_bias.grad[width:2 * width].abs().max() < 1e-6  # softmax-invariant b_k
    for module in (cross.attn.out_proj, cross.mlp, cross.ln_2, dec.pooler_norm, dec.pooler, dec.score_head):
        assert all(grad(p) == 0 for p in module.parameters()), module


def test_pfr_without_pmd_fails_clearly() -> None:
    with pytest.raises(KeyError, match='PMDLoss earlier'):
        MODELS.build(dict(type='PFRLoss', num_heads=4))(token_batch())


def test_odd_head_count_is_rejected() -> None:
    with pytest.raises(ValueError, match='even'):
        MODELS.build(dict(type='PFRLoss', num_heads=3))
