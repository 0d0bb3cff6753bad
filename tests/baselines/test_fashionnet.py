"""FashionNet-lite: loss/predict contract on the tiny model; every config loads."""
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
from csa_bench.registry import MODELS

REPO = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO / 'configs/baselines/fashionnet'
TINY = CONFIG_DIR / '_base_/fashionnet_resnet18.py'
# timm zero-initialises the last BN of every residual block (zero_init_last), so at initialisation
# the layers before it inside the branch get exactly zero gradient; everything else must get one.
ZERO_INIT_BRANCH = re.compile(r'layer\d\.\d\.(conv1|bn1|conv2)\.')


@pytest.fixture
def model():
    init_default_scope('csa_bench')
    torch.manual_seed(0)
    return MODELS.build(Config.fromfile(str(TINY)).model)


def test_loss_mode_trains_backbone_neck_and_classifier(model) -> None:
    losses = check_loss_mode(model, random_pair_data(batch=4, num_categories=3))
    assert {'loss_triplet', 'loss_category', 'triplet_active', 'category_acc'} <= set(losses)
    missing = [n for n in params_without_grad(model, ('encoder.', 'losses.'))
               if not ZERO_INIT_BRANCH.search(n)]
    assert missing == []
    assert model.encoder.backbone.model.layer1[0].bn2.weight.grad.abs().sum() > 0


def test_predict_mode_unit_norm_512(model) -> None:
    outputs = check_predict_mode(model, random_test_data())
    assert outputs[0]['embedding'].shape == (512,)


def test_clip_embedding_is_the_mean_of_its_real_frames(model) -> None:
    """Per-frame embedding, masked mean, then L2 (baselines.md §4); padded frames do not count."""
    model.eval()
    data = random_test_data(queries=1, gallery=0)
    data['inputs'][0]['frame_mask'][2:] = False
    with torch.no_grad():
        batch = model.data_preprocessor(data)['inputs']
        out = model(batch, data['data_samples'], mode='predict')[0]['embedding']
        frames, _ = model.encoder(batch['video'][0, :2])
    expected = torch.nn.functional.normalize(frames.mean(0), dim=0)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)


def test_every_config_loads() -> None:
    paths = sorted(CONFIG_DIR.rglob('*.py'))
    assert paths
    for path in paths:
        cfg = Config.fromfile(str(path))
        assert cfg.model.encoder.type == 'GAPNeckEncoder', path
