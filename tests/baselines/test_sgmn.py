"""SGMN-lite: modes, and the invariants of baselines.md §11 "Invariants worth a unit test"."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import init_default_scope

from baselines.sgmn.losses import hard_negative_clips
from baselines.sgmn.tdb import interleave_index
from baselines.sgmn.triplet import weighted_triplet_loss
from csa_bench.registry import MODELS

CONFIG_DIR = Path(__file__).resolve().parents[2] / 'configs' / 'baselines' / 'sgmn'
TINY = {'released': CONFIG_DIR / '_base_' / 'sgmn_clipvit-tiny.py',
        'fixed': CONFIG_DIR / '_base_' / 'sgmn-fixed_clipvit-tiny.py'}
B, T = 8, 4


def _pair_data(texts: bool = True) -> dict:
    g = torch.Generator().manual_seed(0)
    inputs = []
    for i in range(B):
        mask = torch.zeros(T, dtype=torch.bool)
        mask[: 1 + i % T] = True
        inputs.append({'video': torch.randint(0, 256, (T, 3, 64, 64), generator=g, dtype=torch.uint8),
                       'frame_mask': mask,
                       'image': torch.randint(0, 256, (3, 64, 64), generator=g, dtype=torch.uint8)})
    samples = [dict(role='pair', sample_id=f'c{i}', item_id=f'p{i}', label=i,
                    title=f'red cotton shirt {i}' if texts else '', asr=f'look at this red shirt {i}' if texts else '')
               for i in range(B)]
    return {'inputs': inputs, 'data_samples': samples}


def _build(variant: str = 'released'):
    init_default_scope('csa_bench')
    torch.manual_seed(0)
    return MODELS.build(Config.fromfile(str(TINY[variant])).model)


@pytest.mark.parametrize('variant', ['released', 'fixed'])
def test_loss_keys_sum_and_gradients(variant: str) -> None:
    model = _build(variant)
    data = model.data_preprocessor(_pair_data(), training=True)
    losses = model(**data, mode='loss')
    keys = {k for k in losses if k.startswith('loss_')}
    assert keys == {'loss_txt', 'loss_base', 'loss_reg', 'loss_gnn', 'loss_pairwise'}  # invariant 9
    assert all(torch.isfinite(losses[k]) for k in keys)
    sum(losses[k] for k in keys).backward()
    params = dict(model.named_parameters())
    for name in ('encoder.vit.blocks.0.attn.qkv.weight', 'tdb.blocks.0.attn.in_proj_weight', 'fc_asr.weight',
                 'fc_title.weight', 'fusion.fc_v.weight', 'decoder.similarity_dense.weight',
                 'losses.2.adjacency.mlp_t2i.0.weight', 'losses.2.gnn.layers.0.self_attn.in_proj_weight'):
        assert params[name].grad is not None and params[name].grad.abs().sum() > 0, name


def test_shapes_and_unit_norms() -> None:
    model = _build()
    data = model.data_preprocessor(_pair_data(), training=True)
    batch = model(**data, mode='tensor')
    d, length = model.encoder.embed_dim, model.encoder.num_tokens
    assert batch['frame_emb'].shape == (B, T, d) and batch['frame_tokens'].shape == (B, T, length, d)
    assert model.tdb.last_sequence.shape == (B, 2 * T - 1, d) and batch['frame_graph'].shape == (B, T, d)
    for key in ('video_emb', 'image_emb', 'asr_emb', 'title_emb'):
        torch.testing.assert_close(batch[key].norm(dim=-1), torch.ones(B), msg=key)  # invariant 3
    graph = model.losses[2]
    v2, g2, parts = graph.propagate(batch['video_emb'], batch['image_emb'], batch['frame_graph'])
    torch.testing.assert_close(v2.norm(dim=-1), torch.ones(B))
    torch.testing.assert_close(g2.norm(dim=-1), torch.ones(B))
    assert parts['mask'].shape == (2 * B, 2 * B)
    neg = hard_negative_clips(batch['cl_logits'])
    cands = torch.cat([torch.arange(B)[:, None], neg], 1)
    logits = model.decoder(batch['fused_image_tokens'].repeat_interleave(4, 0),
                           batch['fused_clip_tokens'][cands].flatten(0, 1),
                           batch['clip_token_mask'][cands].flatten(0, 1)).view(B, 4)
    assert logits.shape == (B, 4)  # invariant 1: pairwise_logit (B, 4)


def test_tdb_interleave_and_difference_range() -> None:
    assert interleave_index(4).tolist() == [0, 4, 1, 5, 2, 6, 3]  # invariant 2
    assert interleave_index(10).tolist()[:4] == [0, 10, 1, 11]
    model = _build()
    model.tdb(torch.randn(3, T, 64) * 50, torch.ones(3, T, dtype=torch.bool))
    diff = model.tdb.last_differences
    assert diff.shape == (3, T - 1, 64) and bool((diff.abs() < 1).all())


@pytest.mark.parametrize('texts', [True, False])
def test_eval_ranking_is_cl_at_scale_one(texts: bool) -> None:
    model = _build().eval()
    data = model.data_preprocessor(_pair_data(texts), training=False)
    with torch.no_grad():
        batch = model(**data, mode='tensor')
        preds = model(**data, mode='predict')
    emb = torch.stack([p['embedding'] for p in preds])
    torch.testing.assert_close(emb.norm(dim=-1), torch.ones(B))
    q = model.ranking_embedding(batch['video_emb'], batch['asr_emb'])
    g = model.ranking_embedding(batch['image_emb'], batch['title_emb'])
    cl = batch['video_emb'] @ batch['image_emb'].t() + 0.5 * batch['asr_emb'] @ batch['title_emb'].t()
    torch.testing.assert_close(1.5 * q @ g.t(), cl)  # invariant 3
    torch.testing.assert_close(batch['cl_logits'], cl)  # s = 1 at eval
    if not texts:  # zero text: a and c are constant (fc biases), ranking = visual cosine
        visual = batch['video_emb'] @ batch['image_emb'].t()
        assert torch.equal((q @ g.t()).argsort(dim=1), visual.argsort(dim=1))


def test_fusion_ignores_query_and_key_weights() -> None:
    model = _build().eval()
    tokens, text = torch.randn(2, 5, 64), F.normalize(torch.randn(2, 64), dim=-1)
    before = model.fusion(tokens, text)
    with torch.no_grad():
        model.fusion.fc_q.weight.normal_()
        model.fusion.fc_k.weight.normal_()
    torch.testing.assert_close(model.fusion(tokens, text), before)  # invariant 4


def test_hard_negatives() -> None:
    cl = torch.randn(6, 6, requires_grad=True)
    neg = hard_negative_clips(cl)
    assert not neg.requires_grad and neg.shape == (6, 3)  # invariant 5
    for i in range(6):
        assert i not in neg[i].tolist()
        col = cl[:, i].detach().clone()
        col[i] = -math.inf
        assert set(neg[i].tolist()) == set(col.topk(3).indices.tolist())


def test_graph_connections_and_relevance() -> None:
    model = _build()
    graph = model.losses[2]
    v, g = F.normalize(torch.randn(B, 64), dim=-1), F.normalize(torch.randn(B, 64), dim=-1)
    frames = F.normalize(torch.randn(B, T, 64), dim=-1).requires_grad_()
    parts = graph.graph(v, g, frames)
    assert bool((parts['connect'][:B, :B].sum(1) >= B // 2).all())  # invariant 6
    assert bool((parts['connect'].sum(1) >= 2 * (B // 2)).all())
    assert not bool(torch.isinf(parts['mask']).all(dim=1).any())
    torch.testing.assert_close(parts['rel_i2i'].diagonal(), torch.ones(B))
    allowed = torch.tensor([1 / math.sqrt(T), -1 / math.sqrt(T), 0.0])
    gaps = (parts['t2i_mean'].flatten()[:, None] - allowed[None]).abs().amin(dim=1)
    assert bool((gaps < 1e-5).all())
    # Invariant 7: the adjacency MLPs learn from the KL term; the regions get no gradient.
    out = graph({'video_emb': v, 'image_emb': g, 'frame_graph': frames})
    out['loss_reg'].backward()
    assert graph.adjacency.mlp_i2t[0].weight.grad.abs().sum() > 0
    assert frames.grad is None


def test_reg_is_already_times_ten() -> None:
    model = _build()
    graph = model.losses[2]
    v, g = F.normalize(torch.randn(B, 64), dim=-1), F.normalize(torch.randn(B, 64), dim=-1)
    frames = F.normalize(torch.randn(B, T, 64), dim=-1)
    ten = graph({'video_emb': v, 'image_emb': g, 'frame_graph': frames})['loss_reg']
    graph.reg_weight = 1.0
    one = graph({'video_emb': v, 'image_emb': g, 'frame_graph': frames})['loss_reg']
    torch.testing.assert_close(ten, 10 * one)


def test_weighted_triplet_zero_cases() -> None:
    eye = torch.eye(4, 8)
    assert weighted_triplet_loss(eye, eye, dim=8) == 0  # positives beat every negative by 1 > 0.2
    far = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
    assert weighted_triplet_loss(far, far) == 0  # every negative at d = 2 >= 1.7: no sample, 0
    close = F.normalize(torch.tensor([[1.0, 0.1], [1.0, -0.1], [0.9, 0.3]]), dim=-1)
    shuffled = close[[1, 2, 0]]
    assert weighted_triplet_loss(close, shuffled, dim=2) > 0  # positives are not the best match


def test_text_inputs_get_no_gradient_and_eval_is_deterministic() -> None:
    model = _build()
    assert not model.texts('title', [{'title': 'red shirt'}], torch.tensor([0])).requires_grad
    model.eval()
    data = model.data_preprocessor(_pair_data(), training=False)
    with torch.no_grad():
        first = torch.stack([p['embedding'] for p in model(**data, mode='predict')])
        second = torch.stack([p['embedding'] for p in model(**data, mode='predict')])
    torch.testing.assert_close(first, second)


def test_decoder_at_eval_flag() -> None:
    released, fixed = _build('released'), _build('fixed')
    assert released.pairwise_scorer is released.decoder and fixed.pairwise_scorer is None
    released.eval()
    data = released.data_preprocessor(_pair_data(), training=False)
    with torch.no_grad():
        preds = released(**data, mode='predict')
    state = preds[0]['pair_state']
    assert state['tokens'].shape == (released.encoder.num_tokens, 64)  # packed pairs: the image's state
    assert fixed.tdb.mask_repeat is False and fixed.losses[3].diag is False
    assert fixed.losses[2].cross_connect is False and fixed.losses[1].triplet_dim is None


@pytest.mark.parametrize('path', sorted(CONFIG_DIR.glob('*synthetic*.py')), ids=lambda p: p.name)
def test_config_builds(path: Path) -> None:
    init_default_scope('csa_bench')
    model = MODELS.build(Config.fromfile(str(path)).model)
    assert isinstance(model.losses[0], torch.nn.Module)
