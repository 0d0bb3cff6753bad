"""Every RICE config loads; the synthetic twins build their model (the real ones need CLIP weights)."""
from __future__ import annotations

from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from csa_bench.registry import MODELS

CONFIGS = sorted((Path(__file__).resolve().parents[2] / 'configs' / 'rice').glob('*.py'))


@pytest.mark.parametrize('path', CONFIGS, ids=[p.name for p in CONFIGS])
def test_config_loads_and_states_the_global_batch(path: Path) -> None:
    cfg = Config.fromfile(str(path))
    assert cfg.train_dataloader.batch_size is None and cfg.global_batch_size > 0  # derived per process
    assert cfg.global_batch_size % 2 == 0  # PMD chunks anchors in pairs (checked per process at train time)
    names = [loss['type'] for loss in cfg.model.losses]
    assert names[0] == 'ICLLoss' and names in (['ICLLoss'], ['ICLLoss', 'PMDLoss'], ['ICLLoss', 'PMDLoss', 'PFRLoss'])
    if 'synthetic' in path.name:
        init_default_scope('csa_bench')
        MODELS.build(cfg.model)
    elif path.name.startswith('rice-v1-'):
        # V1 (docs/method_v1.md): fp16 CLIP weights updated by BertAdam, no AMP, clip 1.0.
        assert cfg.optim_wrapper.type == 'OptimWrapper' and cfg.optim_wrapper.optimizer.type == 'BertAdam'
        assert cfg.optim_wrapper.clip_grad == dict(max_norm=1.0) and cfg.global_batch_size == 96
        assert cfg.model.encoder.fp16 and cfg.test_evaluator.protocol == 'lpr4m-csa-v1'
    else:
        assert cfg.optim_wrapper.type == 'AmpOptimWrapper' and cfg.global_batch_size == 96
