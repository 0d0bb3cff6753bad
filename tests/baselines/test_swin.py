"""Swin: the tiny Swin encoder geometry at 64 px, contract, local weights only."""
from __future__ import annotations

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
from csa_bench.registry import MODELS

REPO = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO / 'configs/baselines/swin'
TINY = CONFIG_DIR / '_base_/swin_swin-tiny.py'


@pytest.fixture
def model():
    init_default_scope('csa_bench')
    torch.manual_seed(0)
    return MODELS.build(Config.fromfile(str(TINY)).model)


def test_tiny_swin_geometry(model) -> None:
    swin = model.encoder.model
    assert swin.embed_dim == 48 and [len(stage.blocks) for stage in swin.layers] == [2, 2, 2, 2]
    # window 4 with shift 2 on the 16x16 first stage; the 2x2 last stage gets one 2x2 window
    assert swin.layers[0].blocks[1].window_size == (4, 4) and swin.layers[0].blocks[1].shift_size == (2, 2)
    assert swin.layers[3].blocks[0].window_size == (2, 2)
    emb, tokens = model.encoder(torch.randn(2, 3, 64, 64))
    assert emb.shape == (2, 512) and tokens.shape == (2, 4, 384)


def test_loss_mode_reaches_every_parameter(model) -> None:
    losses = check_loss_mode(model, random_pair_data(batch=4))
    assert {'loss_icl', 'icl_acc'} <= set(losses)
    assert params_without_grad(model) == []


def test_clip_is_the_masked_mean_of_frames(model) -> None:
    outputs = check_predict_mode(model, random_test_data(queries=2, gallery=1))
    data = random_test_data(queries=2, gallery=1)
    with torch.no_grad():
        batch = model.data_preprocessor(data)['inputs']
        real = batch['video'][1][batch['frame_mask'][1]]
        frames, _ = model.encoder(real)
    expected = F.normalize(frames.mean(0), dim=0)
    torch.testing.assert_close(outputs[1]['embedding'], expected, atol=1e-5, rtol=1e-5)


def test_pretrained_is_local_only(tmp_path) -> None:
    from baselines.swin import SwinEncoder

    with pytest.raises(FileNotFoundError, match='local path'):
        SwinEncoder('swin_tiny_patch4_window7_224', pretrained=str(tmp_path / 'none.pth'))
    with pytest.raises(ValueError, match='Swin'):
        SwinEncoder('resnet18')


def test_every_config_loads() -> None:
    paths = sorted(CONFIG_DIR.rglob('*.py'))
    assert paths
    for path in paths:
        assert Config.fromfile(str(path)).model.encoder.type == 'SwinEncoder', path


def test_local_timm_weights_load(tmp_path) -> None:
    from baselines.swin import SwinEncoder

    kwargs = dict(img_size=64, window_size=4, swin_width=48, depths=(2, 2, 2, 2), num_heads=(3, 6, 12, 24))
    torch.manual_seed(0)
    source = SwinEncoder('swin_tiny_patch4_window7_224', **kwargs)
    path = tmp_path / 'swin.pth'
    torch.save(source.model.state_dict(), path)
    torch.manual_seed(1)
    loaded = SwinEncoder('swin_tiny_patch4_window7_224', pretrained=str(path), **kwargs)
    for name, value in source.model.state_dict().items():
        torch.testing.assert_close(loaded.model.state_dict()[name], value, msg=name)
