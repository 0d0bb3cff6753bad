"""PMD: mining, decoder shapes/masking, CLIP-block initialisation, pairwise scorer (method.md §5)."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from csa_bench.registry import MODELS
from plugins.csa.pmd import mine_hard_negatives

from .rice_helpers import token_batch


def test_miner_puts_positive_first_and_never_among_negatives() -> None:
    g = torch.Generator().manual_seed(1)
    for _ in range(20):
        u = F.normalize(torch.randn(6, 8, generator=g), dim=-1)
        v = u + 0.01 * torch.randn(6, 8, generator=g)  # the positive is the most similar clip
        positive = torch.arange(6)
        cand = mine_hard_negatives(u, F.normalize(v, dim=-1), positive, 3)
        assert torch.equal(cand[:, 0], positive)
        assert not (cand[:, 1:] == positive[:, None]).any()
        sim = u @ F.normalize(v, dim=-1).t()
        sim[positive, positive] = -torch.inf
        assert torch.equal(cand[:, 1:], sim.topk(3, dim=1).indices)


def test_miner_respects_exclusion_and_offset_positive() -> None:
    u = F.normalize(torch.randn(2, 4), dim=-1)
    v = F.normalize(torch.randn(8, 4), dim=-1)
    positive = torch.tensor([4, 5])  # rank 1 of 2, B = 4 would give 4..7
    exclude = torch.zeros(2, 8, dtype=torch.bool)
    exclude[:, 0] = True
    cand = mine_hard_negatives(u, v, positive, 3, exclude)
    assert torch.equal(cand[:, 0], positive)
    assert not (cand[:, 1:] == 0).any() and not (cand[:, 1:] == positive[:, None]).any()


def test_miner_needs_enough_clips() -> None:
    with pytest.raises(ValueError, match='global batch'):
        mine_hard_negatives(torch.randn(3, 4), torch.randn(3, 4), torch.arange(3), 3)


def test_pmd_loss_stores_positive_maps_equal_to_a_positive_only_pass() -> None:
    batch = token_batch(b=5, requires_grad=True)  # odd B: the last chunk holds one anchor
    loss = MODELS.build(dict(type='PMDLoss', width=16, num_heads=4, pmd_init='random', attn_drop=0.0))
    out = loss(batch)
    assert set(out) == {'loss_pmd', 'pmd_acc'} and torch.isfinite(out['loss_pmd'])
    maps = batch['pmd_positive_maps']
    assert maps.shape == (5, 4, 5, 15)
    tokens = batch['frame_tokens'].reshape(5, 15, 16)
    key_mask = batch['frame_mask'].repeat_interleave(5, dim=1)
    _, direct = loss.decoder(batch['image_tokens'], tokens, key_mask)
    torch.testing.assert_close(maps, direct)
    # A' = sqrt(d_h)·softmax: rows sum to sqrt(d_h), padded frames get exactly zero.
    torch.testing.assert_close(maps.sum(-1), torch.full((5, 4, 5), 2.0))
    assert (maps.masked_select(~key_mask[:, None, None, :].expand_as(maps)) == 0).all()
    out['loss_pmd'].backward()
    assert batch['image_tokens'].grad.abs().sum() > 0 and batch['frame_tokens'].grad.abs().sum() > 0


def test_pmd_loss_is_a_four_way_cross_entropy_over_mined_candidates() -> None:
    batch = token_batch(b=4)
    loss = MODELS.build(dict(type='PMDLoss', width=16, num_heads=4, pmd_init='random', attn_drop=0.0))
    value = loss(batch)['loss_pmd']
    cand = mine_hard_negatives(batch['image_emb'], batch['video_emb'], torch.arange(4), 3)
    tokens = batch['frame_tokens'].reshape(4, 15, 16)
    key_mask = batch['frame_mask'].repeat_interleave(5, dim=1)
    rows = []
    for i in range(4):
        scores, _ = loss.decoder(batch['image_tokens'][i].expand(4, -1, -1), tokens[cand[i]], key_mask[cand[i]])
        rows.append(-torch.log_softmax(scores, 0)[0])
    torch.testing.assert_close(value, torch.stack(rows).mean())


def test_visual_last2_init_reproduces_clip_blocks() -> None:
    enc = MODELS.build(dict(type='CLIPViTEncoder', arch='tiny'))
    loss = MODELS.build(dict(type='PMDLoss', width=64, num_heads=4, attn_drop=0.0, kv_norm=True))
    loss.bind_encoder(enc)
    x = torch.randn(2, 17, 64)
    with torch.no_grad():
        # With CLIP's head count the self block is CLIP block -2 up to the LN eps (1e-12 vs 1e-5).
        torch.testing.assert_close(loss.decoder.self_block(x), enc.vit.blocks[-2](x), rtol=1e-4, atol=1e-4)
        # With K/V = LN(x) of the same tokens, the cross block is CLIP block -1 exactly.
        out, _ = loss.decoder.cross_block(x, x, torch.ones(2, 17, dtype=torch.bool))
        torch.testing.assert_close(out, enc.vit.blocks[-1](x), rtol=1e-5, atol=1e-5)


def test_bind_encoder_checks_width_and_depth() -> None:
    enc = MODELS.build(dict(type='CLIPViTEncoder', arch='tiny'))
    with pytest.raises(ValueError, match='token width 64'):
        MODELS.build(dict(type='PMDLoss', width=32, num_heads=4)).bind_encoder(enc)
    one_layer = MODELS.build(dict(type='CLIPViTEncoder', arch=dict(img_size=32, patch_size=16, width=64,
                                                                   layers=1, heads=4, embed_dim=16)))
    with pytest.raises(ValueError, match='>= 2 encoder blocks'):
        MODELS.build(dict(type='PMDLoss', width=64, num_heads=4)).bind_encoder(one_layer)
    MODELS.build(dict(type='PMDLoss', width=64, num_heads=4, pmd_init='random')).bind_encoder(one_layer)
    with pytest.raises(ValueError, match='divide'):
        MODELS.build(dict(type='PMDLoss', width=64, num_heads=6))


def test_score_pairs_matches_decoder_and_ignores_dropout() -> None:
    batch = token_batch(b=3)
    loss = MODELS.build(dict(type='PMDLoss', width=16, num_heads=4, pmd_init='random', attn_drop=0.5,
                             chunk_anchors=1, num_negatives=1))  # chunks of 2 pairs: exercise chunking
    loss.train()
    scores = loss.score_pairs({'tokens': batch['frame_tokens'], 'frame_mask': batch['frame_mask']},
                              {'tokens': batch['image_tokens']})
    assert scores.shape == (3,) and loss.decoder.training
    loss.eval()
    direct, _ = loss.decoder(batch['image_tokens'], batch['frame_tokens'].reshape(3, 15, 16),
                             batch['frame_mask'].repeat_interleave(5, dim=1))
    torch.testing.assert_close(scores, direct)
    assert scores.abs().max() <= 10.0 + 1e-5  # 10·cos
