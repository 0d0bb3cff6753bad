"""TimeSformer-lite: contract, padding never changes a clip, the image tower is a ViT, ViT weights load."""
from __future__ import annotations

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
from baselines.timesformer import TimeSformerEncoder
from csa_bench.registry import MODELS

REPO = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO / 'configs/baselines/timesformer'
TINY = CONFIG_DIR / '_base_/timesformer_vit-tiny.py'


@pytest.fixture
def model():
    init_default_scope('csa_bench')
    torch.manual_seed(0)
    return MODELS.build(Config.fromfile(str(TINY)).model)


def _tiny_tower(**kwargs) -> TimeSformerEncoder:
    torch.manual_seed(0)
    return TimeSformerEncoder(**dict(dict(img_size=32, patch_size=16, width=32, depth=2, num_heads=2,
                                          embed_dim=16, num_frames=4), **kwargs))


def test_loss_mode_reaches_both_towers(model) -> None:
    losses = check_loss_mode(model, random_pair_data(batch=4))
    assert {'loss_icl', 'icl_acc', 'logit_scale'} <= set(losses)
    # Block 1's temporal_fc is zero-initialised (official), so its temporal attention gets no gradient yet.
    missing = [n for n in params_without_grad(model) if not n.startswith('encoder.blocks.1.temporal_attn.')
               and not n.startswith('encoder.blocks.1.temporal_norm1.')]
    assert missing == []
    assert model.image_encoder is not model.encoder and not model.image_encoder.temporal


def test_predict_mode_unit_norm(model) -> None:
    assert check_predict_mode(model, random_test_data())[0]['embedding'].shape == (512,)


def test_padded_frames_never_change_the_clip() -> None:
    tower = _tiny_tower().eval()
    for block in tower.blocks:  # make the temporal path active everywhere
        torch.nn.init.normal_(block.temporal_fc.weight, std=0.2)
    video = torch.randn(2, 4, 3, 32, 32)
    mask = torch.tensor([[True, True, False, False], [True, True, True, False]])
    with torch.no_grad():
        out = tower.forward_clip(video, mask)
        junk = video.clone()
        junk[~mask] = 50.0
        out_junk = tower.forward_clip(junk, mask)
        short = tower.forward_clip(video[:1, :2], mask[:1, :2])
    torch.testing.assert_close(out['clip_emb'], out_junk['clip_emb'])
    torch.testing.assert_close(out['clip_emb'][:1], short['clip_emb'], atol=1e-5, rtol=1e-5)
    assert out['frame_emb'][0, 2:].abs().sum() == 0 and out['frame_tokens'][1, 3].abs().sum() == 0


def test_temporal_attention_mixes_frames() -> None:
    tower = _tiny_tower().eval()
    for block in tower.blocks:
        torch.nn.init.normal_(block.temporal_fc.weight, std=0.2)
    video = torch.randn(1, 2, 3, 32, 32)
    mask = torch.ones(1, 2, dtype=torch.bool)
    with torch.no_grad():
        a = tower.forward_clip(video, mask)['frame_emb'][0, 0]
        video[0, 1] += 1.0  # changing frame 1 changes frame 0's tokens only through time attention
        b = tower.forward_clip(video, mask)['frame_emb'][0, 0]
    assert not torch.allclose(a, b)


def test_image_tower_is_a_vit_that_loads_timm_weights(tmp_path) -> None:
    import timm

    vit = timm.create_model('vit_tiny_patch16_224', img_size=32, num_classes=0, embed_dim=32, depth=2,
                            num_heads=2).eval()
    path = tmp_path / 'vit.pth'
    torch.save(vit.state_dict(), path)
    tower = _tiny_tower(temporal=False, num_frames=0, pretrained=str(path)).eval()
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        _, tokens = tower(images)
        expected = vit.forward_features(images)
    torch.testing.assert_close(tokens, expected, atol=1e-5, rtol=1e-5)
    video_tower = _tiny_tower(pretrained=str(path))  # temporal layers stay fresh; the spatial path loads
    torch.testing.assert_close(video_tower.blocks[0].attn.qkv.weight, vit.blocks[0].attn.qkv.weight)


def test_loading_a_wrong_checkpoint_names_the_file(tmp_path) -> None:
    path = tmp_path / 'bad.pth'
    torch.save({'foo': torch.zeros(1)}, path)
    with pytest.raises(ValueError, match='bad.pth'):
        _tiny_tower(pretrained=str(path))
    with pytest.raises(FileNotFoundError):
        _tiny_tower(pretrained=str(tmp_path / 'missing.pth'))


def test_every_config_loads() -> None:
    paths = sorted(CONFIG_DIR.rglob('*.py'))
    assert paths
    for path in paths:
        cfg = Config.fromfile(str(path))
        assert cfg.model.encoder.temporal and not cfg.model.image_encoder.temporal, path
