"""RICERetriever built from the tiny model config: loss and predict modes."""
from __future__ import annotations

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from csa_bench.registry import MODELS


def _pair_data(b: int = 4, t: int = 3, size: int = 64) -> dict:
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


def test_tiny_icl_config_trains_and_predicts(repo_root) -> None:
    init_default_scope('csa_bench')  # what the Runner does; BaseModel builds its preprocessor by scope
    cfg = Config.fromfile(str(repo_root / 'configs/_base_/models/rice-icl_clipvit-tiny.py'))
    model = MODELS.build(cfg.model)
    data = model.data_preprocessor(_pair_data(), training=True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_icl', 'icl_acc', 'logit_scale'}
    losses['loss_icl'].backward()
    assert model.encoder.vit.blocks[0].attn.qkv.weight.grad.abs().sum() > 0
    preds = model(**data, mode='predict')
    assert len(preds) == 4 and preds[0]['embedding'].shape == (model.encoder.embed_dim,)
