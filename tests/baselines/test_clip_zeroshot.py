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
        assert cfg.weights_label in cfg.method_name or cfg.weights_label == 'openai', path


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


def test_zero_shot_config_evaluates_without_checkpoint(tmp_path, monkeypatch) -> None:
    """`csa-bench test CONFIG` with no checkpoint runs end to end on the tiny synthetic benchmark."""
    from csa_bench.cli import main
    from csa_bench.engine import api

    assert main(['data', 'synth', '--format', 'lpr4m', '--size', 'tiny',
                 '--out', str(tmp_path / 'synthetic-lpr4m')]) == 0
    monkeypatch.setenv('CSA_DATA_ROOT', str(tmp_path))
    outcome = api.test(CONFIG_DIR / 'clip-zeroshot_clipvit-tiny_4f_zeroshot_synthetic-lpr4m.py',
                       work_dir=str(tmp_path / 'wd'))
    recall = {k: v for k, v in outcome.metrics.items() if k.split('/')[-1].startswith('R@')}
    assert recall and all(0.0 <= v <= 100.0 for v in recall.values()), outcome.metrics
