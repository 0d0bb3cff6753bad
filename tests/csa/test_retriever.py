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


def _full_tiny(repo_root):
    init_default_scope('csa_bench')
    cfg = Config.fromfile(str(repo_root / 'configs/_base_/models/rice-icl-pmd-pfr_clipvit-tiny.py'))
    cfg.model.losses[1].attn_drop = 0.0  # deterministic loss for the comparison
    return MODELS.build(cfg.model)


def test_full_model_checkpoint_round_trip(repo_root, tmp_path) -> None:
    torch.manual_seed(0)
    model = _full_tiny(repo_root)
    assert [type(m).__name__ for m in model.losses] == ['ICLLoss', 'PMDLoss', 'PFRLoss']
    data = model.data_preprocessor(_pair_data(b=4), training=True)
    losses = model(**data, mode='loss')
    assert {'loss_icl', 'loss_pmd', 'loss_pfr', 'pmd_acc'} <= set(losses)
    torch.save(model.state_dict(), tmp_path / 'model.pth')
    torch.manual_seed(1)
    other = _full_tiny(repo_root)
    other.load_state_dict(torch.load(tmp_path / 'model.pth'))
    again = other(**data, mode='loss')
    for key in ('loss_icl', 'loss_pmd', 'loss_pfr'):
        torch.testing.assert_close(again[key], losses[key])
    model.eval(), other.eval()
    for a, b in zip(model(**data, mode='predict'), other(**data, mode='predict'), strict=True):
        torch.testing.assert_close(a['embedding'], b['embedding'])


def test_pmd_blocks_start_from_the_encoder_and_scorer_is_exposed(repo_root) -> None:
    model = _full_tiny(repo_root)
    dec = model.losses[1].decoder
    torch.testing.assert_close(dec.cross_block.attn.in_proj_weight, model.encoder.vit.blocks[-1].attn.qkv.weight)
    torch.testing.assert_close(dec.self_block.mlp.c_fc.weight, model.encoder.vit.blocks[-2].mlp.fc1.weight)
    assert model.pairwise_scorer is model.losses[1]
    pairs = _pair_data(b=2)
    queries = [{'video': x['video'], 'frame_mask': x['frame_mask']} for x in pairs['inputs']]
    gallery = [{'image': x['image']} for x in pairs['inputs']]
    samples = [dict(role='query', sample_id=f'q{i}') for i in range(2)] + \
        [dict(role='gallery', sample_id=f'g{i}') for i in range(2)]
    model.eval()
    data = model.data_preprocessor({'inputs': queries + gallery, 'data_samples': samples}, training=False)
    preds = model(**data, mode='predict')
    clip = {k: torch.stack([p['pair_state'][k] for p in preds[:2]]) for k in ('tokens', 'frame_mask')}
    image = {'tokens': torch.stack([p['pair_state']['tokens'] for p in preds[2:]])}
    assert clip['tokens'].shape == (2, 3, 17, 64) and image['tokens'].shape == (2, 17, 64)
    scores = model.pairwise_scorer.score_pairs(clip, image)
    dec = model.losses[1].decoder
    direct, _ = dec(image['tokens'], clip['tokens'].reshape(2, 51, 64), clip['frame_mask'].repeat_interleave(17, 1))
    torch.testing.assert_close(scores, direct)
    assert scores.shape == (2,) and torch.isfinite(scores).all()


def test_pfr_before_pmd_is_refused() -> None:
    init_default_scope('csa_bench')
    import pytest
    with pytest.raises(ValueError, match='needs a PMDLoss earlier'):
        MODELS.build(dict(type='RICERetriever', encoder=dict(type='CLIPViTEncoder', arch='tiny'),
                          pooling=dict(type='MeanPooling'),
                          losses=[dict(type='PFRLoss', num_heads=8),
                                  dict(type='PMDLoss', width=64, num_heads=8)]))
