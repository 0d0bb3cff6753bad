"""NVAN-lite: contract, identity at init, padded-frame keys masked, image = 1-frame clip."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import init_default_scope

from baselines.common.testing import (
    check_loss_mode,
    check_predict_mode,
    params_without_grad,
    random_pair_data,
    random_test_data,
)
from baselines.nvan import MaskedNonLocalBlock
from csa_bench.registry import MODELS

REPO = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO / 'configs/baselines/nvan'
TINY = CONFIG_DIR / '_base_/nvan_resnet18.py'
# timm zero-initialises each residual block's last BN and the non-local output projection is zero:
# the layers feeding a zero-initialised layer get exactly zero gradient at initialisation.
ZERO_INIT_UPSTREAM = re.compile(r'layer\d\.\d\.(conv1|bn1|conv2)\.|non_local\.\d\.(theta|phi|g)\.')


@pytest.fixture
def model():
    init_default_scope('csa_bench')
    torch.manual_seed(0)
    return MODELS.build(Config.fromfile(str(TINY)).model)


def _perturb_non_local(model) -> None:
    with torch.no_grad():
        for block in model.encoder.non_local.values():
            block.out.weight.normal_(std=0.05)


def test_loss_mode_reaches_resnet_non_local_and_neck(model) -> None:
    losses = check_loss_mode(model, random_pair_data(batch=4, num_categories=3))
    assert {'loss_triplet', 'loss_category'} <= set(losses)
    missing = [n for n in params_without_grad(model, ('encoder.', 'losses.'))
               if not ZERO_INIT_UPSTREAM.search(n)]
    assert missing == []
    assert model.encoder.non_local['3'].out.weight.grad.abs().sum() > 0


def test_predict_mode_unit_norm(model) -> None:
    assert check_predict_mode(model, random_test_data())[0]['embedding'].shape == (512,)


def test_non_local_blocks_start_as_identity() -> None:
    block = MaskedNonLocalBlock(8)
    x = torch.randn(2, 3, 8, 2, 2)
    torch.testing.assert_close(block(x, torch.ones(2, 3, dtype=torch.bool)), x)


def test_non_local_ignores_padded_frame_keys() -> None:
    torch.manual_seed(0)
    block = MaskedNonLocalBlock(8)
    torch.nn.init.normal_(block.out.weight)
    x = torch.randn(1, 3, 8, 2, 2)
    mask = torch.tensor([[True, True, False]])
    y = block(x, mask)
    x2 = x.clone()
    x2[:, 2] = 100.0  # a padded frame full of junk must not change the real frames
    torch.testing.assert_close(block(x2, mask)[:, :2], y[:, :2])
    torch.testing.assert_close(block(x[:, :2], mask[:, :2]), y[:, :2])


def test_padded_clip_equals_its_truncation(model) -> None:
    """Masked keys: a clip with 2 real frames of 4 embeds as the same 2-frame clip."""
    _perturb_non_local(model)
    model.eval()
    video = torch.randn(1, 4, 3, 64, 64)
    mask = torch.tensor([[True, True, False, False]])
    with torch.no_grad():
        full = model.encoder.forward_clip(video, mask)['clip_emb']
        short = model.encoder.forward_clip(video[:, :2], mask[:, :2])['clip_emb']
    torch.testing.assert_close(full, short, atol=1e-5, rtol=1e-5)


def test_at_init_the_clip_embedding_is_the_plain_resnet_mean(model) -> None:
    """Zero-initialised non-local outputs: NVAN starts as ResNet -> GAP -> mean over frames -> BN."""
    model.eval()
    enc = model.encoder
    video = torch.randn(2, 3, 3, 64, 64)
    mask = torch.tensor([[True, True, True], [True, False, False]])
    with torch.no_grad():
        out = enc.forward_clip(video, mask)['clip_emb']
        feats = enc.resnet.forward_features(video.flatten(0, 1))
        plain = enc.fc(enc.resnet.forward_head(feats, pre_logits=True))
        plain = plain.view(2, 3, -1)
        expected = enc.neck(torch.stack([plain[0].mean(0), plain[1, :1].mean(0)]))
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)


def test_image_is_a_one_frame_clip(model) -> None:
    _perturb_non_local(model)
    model.eval()
    image = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        emb, tokens = model.encoder(image)
        clip = model.encoder.forward_clip(image[:, None], torch.ones(2, 1, dtype=torch.bool))
    torch.testing.assert_close(emb, clip['clip_emb'])
    assert tokens.shape == (2, 4, 128)
    assert F.normalize(emb, dim=-1).shape == (2, 512)


def test_every_config_loads() -> None:
    paths = sorted(CONFIG_DIR.rglob('*.py'))
    assert paths
    for path in paths:
        assert Config.fromfile(str(path)).model.encoder.type == 'NVANEncoder', path
