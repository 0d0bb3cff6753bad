"""AsymNet-lite: loss / predict modes, the pairwise scorer, negative mining, configs."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from baselines.asymnet.mining import sample_negatives
from csa_bench.registry import MODELS

CONFIG_DIR = Path(__file__).resolve().parents[2] / 'configs' / 'baselines' / 'asymnet'
TINY = CONFIG_DIR / '_base_' / 'asymnet_resnet18-tiny.py'


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
    for name in ('lstm.weight_ih_l0', 'image_proj.weight', 'head.mlp.0.weight', 'head.gate.weight',
                 'encoder.model.conv1.weight'):
        grad = dict(model.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name


def test_predict_and_pairwise_scorer(model) -> None:
    model.eval()
    data = model.data_preprocessor(_pair_data(), training=False)
    with torch.no_grad():
        preds = model(**data, mode='predict')
        batch = model(**data, mode='tensor')
    emb = torch.stack([p['embedding'] for p in preds])
    torch.testing.assert_close(emb.norm(dim=-1), torch.ones(len(preds)))
    # The packed samples carry both views, so each prediction holds the image's state last.
    clips, images = model.pair_states(batch)
    q = {k: torch.stack([c[k] for c in clips]) for k in clips[0]}
    g = {k: torch.stack([c[k] for c in images]) for k in images[0]}
    scores = model.pairwise_scorer.score_pairs(q, g)
    assert scores.shape == (6,) and torch.isfinite(scores).all()
    grid = model.head.score_grid(q['steps'], q['frame_mask'], g['feat'])
    torch.testing.assert_close(grid.diagonal(), scores)
    # Padded steps are zero and cannot change the score.
    assert (q['steps'][~q['frame_mask']] == 0).all()


def test_gate_ignores_padded_steps(model) -> None:
    head = model.head
    steps, feat = torch.randn(2, 4, head.dim), torch.randn(2, head.dim)
    mask = torch.tensor([[True, True, False, False]] * 2)
    noisy = steps.clone()
    noisy[:, 2:] = 1e3 * torch.randn(2, 2, head.dim)
    a = head.score_pairs({'steps': steps, 'frame_mask': mask}, {'feat': feat})
    b = head.score_pairs({'steps': noisy, 'frame_mask': mask}, {'feat': feat})
    torch.testing.assert_close(a, b)


def test_hard_negatives_are_the_highest_scoring_other_products() -> None:
    scores = torch.tensor([[9., 5., 7., 1., 3.],
                           [0., 9., 1., 2., 3.],
                           [4., 3., 9., 2., 1.],
                           [1., 1., 1., 9., 1.],
                           [5., 4., 3., 2., 9.]])
    labels = torch.tensor([0, 1, 2, 0, 4])  # clip 3 is the same product as clip 0
    neg = sample_negatives(scores, labels, k=2, strategy='hard')
    assert neg[0].tolist() == [2, 1]  # column 3 (same product) skipped even though eligible by id
    assert 3 not in neg[0].tolist() and 0 not in neg[3].tolist()
    rnd = sample_negatives(scores, labels, k=2, strategy='random')
    for i in range(5):
        assert i not in rnd[i].tolist()
    with pytest.raises(ValueError, match='fewer than k=4'):
        sample_negatives(scores, labels, k=4)


def test_mask_with_holes_is_refused(model) -> None:
    with pytest.raises(ValueError, match='padded frames before real ones'):
        model.temporal(torch.randn(1, 3, model.encoder.embed_dim), torch.tensor([[True, False, True]]))


@pytest.mark.parametrize('path', sorted(CONFIG_DIR.glob('*synthetic*.py')), ids=lambda p: p.name)
def test_config_builds(path: Path) -> None:
    init_default_scope('csa_bench')
    cfg = Config.fromfile(str(path))
    model = MODELS.build(cfg.model)
    assert model.pairwise_scorer is model.head
