"""DPRNet-lite: top-3 quality pooling (selection, weights, gradient to the quality head), contract."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from baselines.common.testing import (
    check_loss_mode,
    check_predict_mode,
    params_without_grad,
    random_pair_data,
    random_test_data,
)
from baselines.dprnet import TopKQualityPooling
from csa_bench.registry import MODELS

REPO = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO / 'configs/baselines/dprnet'
TINY = CONFIG_DIR / '_base_/dprnet_resnet18.py'
ZERO_INIT_BRANCH = re.compile(r'layer\d\.\d\.(conv1|bn1|conv2)\.')  # timm zero_init_last, see test_fashionnet


@pytest.fixture
def model():
    init_default_scope('csa_bench')
    torch.manual_seed(0)
    return MODELS.build(Config.fromfile(str(TINY)).model)


def _pool_with_quality(k: int = 3) -> TopKQualityPooling:
    """A pooling whose quality is the first coordinate of the frame embedding."""
    pool = TopKQualityPooling(in_dim=2, k=k)
    with torch.no_grad():
        pool.quality.weight.copy_(torch.tensor([[1.0, 0.0]]))
        pool.quality.bias.zero_()
    return pool


def test_picks_the_top_k_real_frames_with_softmax_weights() -> None:
    pool = _pool_with_quality()
    q = torch.tensor([0.5, 3.0, 1.0, 2.0, 9.0])
    emb = torch.stack([q, torch.arange(5.0)], dim=1)[None]             # (1, 5, 2)
    mask = torch.tensor([[True, True, True, True, False]])              # frame 4 (q=9) is padding
    out = pool(emb, mask)
    top = torch.tensor([1, 3, 2])                                       # q = 3, 2, 1
    w = q[top].softmax(0)
    torch.testing.assert_close(out[0], (w[:, None] * emb[0, top]).sum(0))


def test_short_clips_keep_all_their_frames() -> None:
    pool = _pool_with_quality()
    emb = torch.tensor([[[1.0, 5.0], [0.0, 7.0], [float('nan'), float('nan')]]])
    mask = torch.tensor([[True, True, False]])
    out = pool(emb, mask)
    w = torch.tensor([1.0, 0.0]).softmax(0)
    torch.testing.assert_close(out[0], w @ emb[0, :2])


def test_quality_head_learns_through_the_weighting() -> None:
    pool = TopKQualityPooling(in_dim=4, k=3)
    emb = torch.randn(2, 4, 4)
    pool(emb, torch.ones(2, 4, dtype=torch.bool)).sum().backward()
    assert pool.quality.weight.grad.abs().sum() > 0


def test_pooling_rejects_empty_clips() -> None:
    with pytest.raises(ValueError, match='no real frame'):
        TopKQualityPooling(in_dim=2)(torch.zeros(1, 2, 2), torch.zeros(1, 2, dtype=torch.bool))


def test_loss_mode_reaches_backbone_neck_quality_and_classifier(model) -> None:
    losses = check_loss_mode(model, random_pair_data(batch=4, num_categories=3))
    assert {'loss_triplet', 'loss_category'} <= set(losses)
    missing = [n for n in params_without_grad(model) if not ZERO_INIT_BRANCH.search(n)]
    assert missing == []
    assert model.pooling.quality.weight.grad.abs().sum() > 0


def test_predict_mode_unit_norm(model) -> None:
    assert check_predict_mode(model, random_test_data())[0]['embedding'].shape == (512,)


def test_every_config_loads() -> None:
    paths = sorted(CONFIG_DIR.rglob('*.py'))
    assert paths
    for path in paths:
        cfg = Config.fromfile(str(path))
        assert cfg.model.pooling.type == 'TopKQualityPooling' and cfg.model.pooling.k == 3, path
