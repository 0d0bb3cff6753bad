"""CLIP zero-shot: configs build, predict gives unit-norm CLIP4Clip meanP embeddings, training is refused."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import init_default_scope

from baselines.common.testing import check_predict_mode, random_pair_data, random_test_data
from csa_bench.registry import MODELS

REPO = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO / 'configs/baselines/clip_zeroshot'
TINY = CONFIG_DIR / '_base_/clip-zeroshot_clipvit-tiny.py'


@pytest.fixture
def model():
    init_default_scope('csa_bench')
    return MODELS.build(Config.fromfile(str(TINY)).model)


def test_every_config_is_zero_shot_and_labelled() -> None:
    paths = sorted(CONFIG_DIR.rglob('*.py'))
    assert paths
    for path in paths:
        cfg = Config.fromfile(str(path))
        assert cfg.zero_shot is True, path
        encoder = cfg.model.encoder
        assert (encoder.pretrained is None) == (cfg.weights_label == 'random-init'), path
        assert cfg.weights_label in cfg.method_label or cfg.weights_label == 'openai', path


def test_predict_is_normalise_then_mean(model) -> None:
    data = random_test_data(queries=2, gallery=2)
    outputs = check_predict_mode(model, data)
    with torch.no_grad():
        batch = model.data_preprocessor(data)['inputs']
        frames, _ = model.encoder(batch['video'][0][batch['frame_mask'][0]])
    expected = F.normalize(F.normalize(frames, dim=-1).mean(0), dim=0)
    torch.testing.assert_close(outputs[0]['embedding'], expected, atol=1e-5, rtol=1e-5)


def test_training_is_refused(model) -> None:
    batch = model.data_preprocessor(random_pair_data(batch=2), training=True)
    with pytest.raises(RuntimeError, match='nothing to train'):
        model(**batch, mode='loss')
    assert len(model.losses) == 0
