"""The full-size AsymNet-lite and SEAM-lite configs (real data): the shipped settings load, name their
ImageNet weights under $CSA_PRETRAINED, score pairwise with the right protocol, and the model builds."""
from __future__ import annotations

from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from csa_bench.registry import MODELS

ROOT = Path(__file__).resolve().parents[2] / 'configs' / 'baselines'
CONFIGS = sorted([*ROOT.glob('asymnet/asymnet_resnet50_*.py'), *ROOT.glob('seam/seam_resnet50_*.py')])


def test_both_methods_have_both_datasets() -> None:
    assert [p.name for p in CONFIGS] == [
        'asymnet_resnet50_10f_4xb24-5k_lpr4m.py', 'asymnet_resnet50_10f_4xb24-5k_movingfashion.py',
        'seam_resnet50_10f_4xb24-5k_lpr4m.py', 'seam_resnet50_10f_4xb24-5k_movingfashion.py']


@pytest.mark.slow   # builds a ResNet-50 per config (~5-10 s each on a loaded CPU)
@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.name)
def test_full_size_config(path: Path, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv('CSA_PRETRAINED', str(tmp_path))
    cfg = Config.fromfile(str(path))
    dataset = 'lpr4m' if path.stem.endswith('lpr4m') else 'movingfashion'
    assert cfg.train_dataloader.batch_size is None and cfg.global_batch_size == 96   # derived per process
    assert cfg.train_cfg.max_iters == 5000 and cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.clip_grad == dict(max_norm=1.0)
    assert cfg.test_evaluator.protocol == f'{dataset}-csa' and cfg.test_evaluator.rerank.alpha == 1.0
    assert cfg.custom_hooks == [dict(type='PairwiseScorerHook')]
    assert cfg.model.encoder.model_name == 'resnet50'
    assert cfg.model.encoder.pretrained == f'{tmp_path}/resnet50.a1_in1k.pth'
    init_default_scope('csa_bench')
    model = MODELS.build(dict(cfg.model, encoder=dict(cfg.model.encoder, pretrained=None)))
    assert model.pairwise_scorer is not None
