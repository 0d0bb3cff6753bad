"""SEAM-lite: loss / predict modes, the exact decomposed score matrix, masking, configs."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from csa_bench.registry import MODELS

CONFIG_DIR = Path(__file__).resolve().parents[2] / 'configs' / 'baselines' / 'seam'
TINY = CONFIG_DIR / '_base_' / 'seam_resnet18-tiny.py'


def _pair_data(b: int = 6, t: int = 4, size: int = 64) -> dict:
    g = torch.Generator().manual_seed(0)
    inputs = []
    for i in range(b):
        mask = torch.zeros(t, dtype=torch.bool)
        mask[: 1 + i % t] = True
        inputs.append({'video': torch.randint(0, 256, (t, 3, size, size), generator=g, dtype=torch.uint8),
                       'frame_mask': mask,
                       'image': torch.randint(0, 256, (3, size, size), generator=g, dtype=torch.uint8)})
    samples = [dict(role='pair', sample_id=f'c{i}', item_id=f'p{i}', label=i, category_id=0) for i in range(b)]
    return {'inputs': inputs, 'data_samples': samples}


@pytest.fixture
def model():
    init_default_scope('csa_bench')
    torch.manual_seed(0)
    return MODELS.build(Config.fromfile(str(TINY)).model)


def test_loss_mode_trains_every_part(model) -> None:
    data = model.data_preprocessor(_pair_data(), training=True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_match', 'match_acc'}
    assert torch.isfinite(losses['loss_match'])
    losses['loss_match'].backward()
    # aggregator.out starts at zero (identity non-local block): its own gradient is non-zero, the
    # q/k/v behind it only get gradient after the first step.
    for name in ('head.fc.weight', 'aggregator.out.weight', 'aggregator.score.weight', 'descriptor.conv.weight',
                 'descriptor.fc.weight', 'encoder.model.conv1.weight'):
        grad = dict(model.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name


def test_predict_and_score_matrix_equals_score_pairs(model) -> None:
    model.eval()
    data = model.data_preprocessor(_pair_data(), training=False)
    with torch.no_grad():
        preds = model(**data, mode='predict')
        batch = model(**data, mode='tensor')
    emb = torch.stack([p['embedding'] for p in preds])
    torch.testing.assert_close(emb.norm(dim=-1), torch.ones(len(preds)))
    clips, images = model.pair_states(batch)
    q = torch.stack([c['desc'] for c in clips])
    g = torch.stack([c['desc'] for c in images])
    scorer = model.pairwise_scorer
    with torch.no_grad():
        torch.nn.init.normal_(scorer.fc.weight)  # a non-trivial Δw
        matrix = scorer.score_matrix({'desc': q}, {'desc': g})
        qi, gi = torch.meshgrid(torch.arange(6), torch.arange(6), indexing='ij')
        pairs = scorer.score_pairs({'desc': q[qi.flatten()]}, {'desc': g[gi.flatten()]})
    assert matrix.shape == (6, 6)
    torch.testing.assert_close(matrix, pairs.view(6, 6), rtol=1e-5, atol=1e-4)


def test_aggregator_ignores_padded_frames(model) -> None:
    agg = model.aggregator
    torch.nn.init.normal_(agg.out.weight)  # make the non-local branch active
    frames = torch.randn(2, 4, 64)
    mask = torch.tensor([[True, True, True, False], [True, False, False, False]])
    noisy = frames.clone()
    noisy[~mask] = 1e3
    torch.testing.assert_close(agg(frames, mask), agg(noisy, mask))


def test_single_frame_clip_pools_to_its_non_local_output(model) -> None:
    agg = model.aggregator
    frames = torch.randn(1, 1, 64)
    expected = frames[:, 0] + agg.out(agg.v(frames[:, 0]))  # attention over one key = 1
    torch.testing.assert_close(agg(frames, torch.ones(1, 1, dtype=torch.bool)), expected)


@pytest.mark.parametrize('path', sorted(CONFIG_DIR.glob('*synthetic*.py')), ids=lambda p: p.name)
def test_config_builds(path: Path) -> None:
    init_default_scope('csa_bench')
    model = MODELS.build(Config.fromfile(str(path)).model)
    assert model.pairwise_scorer is model.head
