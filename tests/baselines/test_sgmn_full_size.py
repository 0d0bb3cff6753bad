"""The full-size SGMN-lite configs (real data, as released and with quirks fixed): the released sizes and
optimiser, both CLIP towers from $CSA_PRETRAINED, and the model builds with the lr groups of the release."""
from __future__ import annotations

from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from csa_bench.registry import MODELS, OPTIM_WRAPPERS

ROOT = Path(__file__).resolve().parents[2] / 'configs' / 'baselines' / 'sgmn'
CONFIGS = sorted(ROOT.glob('*_clipvit-b32_*.py'))


def test_both_variants_have_both_datasets() -> None:
    assert [p.name for p in CONFIGS] == [
        'sgmn-fixed_clipvit-b32_10f_4xb24-5k_lpr4m.py', 'sgmn-fixed_clipvit-b32_10f_4xb24-5k_movingfashion.py',
        'sgmn_clipvit-b32_10f_4xb24-5k_lpr4m.py', 'sgmn_clipvit-b32_10f_4xb24-5k_movingfashion.py']


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.name)
def test_released_sizes_and_recipe(path: Path, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv('CSA_PRETRAINED', str(tmp_path))
    cfg = Config.fromfile(str(path))
    fixed = path.name.startswith('sgmn-fixed')
    assert cfg.model.encoder.arch == 'ViT-B/32' and cfg.model.encoder.token_source == 'projected'
    assert cfg.model.encoder.pretrained == cfg.model.text_encoder.pretrained == f'{tmp_path}/ViT-B-32.pt'
    assert cfg.model.text_encoder.type == 'CLIPTextEncoder' and cfg.model.text_encoder.frozen
    assert cfg.num_frames == 10 and {loss.get('num_frames', 10) for loss in cfg.model.losses} == {10}
    assert cfg.model.tdb.mask_repeat is not fixed and cfg.model.decoder_at_eval is not fixed
    assert cfg.model.losses[-1].diag is not fixed
    assert cfg.optim_wrapper.optimizer.type == 'BertAdam' and cfg.optim_wrapper.optimizer.lr == 3e-7
    assert cfg.optim_wrapper.optimizer.t_total == cfg.train_cfg.max_iters == 5000 and cfg.param_scheduler == []
    assert cfg.train_dataloader.batch_size is None and cfg.global_batch_size == 96
    assert cfg.test_evaluator.type == 'RetrievalMetric' and 'rerank' not in cfg.test_evaluator


@pytest.mark.slow   # builds CLIP ViT-B/32 and its text tower, one loss step at 224 px (~20 s on a loaded CPU)
def test_full_size_model_builds_with_the_release_lr_groups() -> None:
    cfg = Config.fromfile(str(ROOT / 'sgmn_clipvit-b32_10f_4xb24-5k_lpr4m.py'))
    init_default_scope('csa_bench')
    model = MODELS.build(dict(cfg.model, encoder=dict(cfg.model.encoder, pretrained=None),
                              text_encoder=dict(cfg.model.text_encoder, pretrained=None)))
    assert model.encoder.embed_dim == 512
    from mmengine.optim import build_optim_wrapper
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    assert isinstance(wrapper, OPTIM_WRAPPERS.get('OptimWrapper'))
    lrs = {}
    for group in wrapper.optimizer.param_groups:
        for name in group['param_names']:
            lrs[name] = group['lr']
    assert {lrs[n] for n in lrs if n.startswith('encoder.')} == {3e-7}
    others = [lrs[n] for n in lrs if not n.startswith('encoder.')]
    assert others and all(lr == pytest.approx(3e-4) for lr in others)
    assert not any(n.startswith('text_encoder.') for n in lrs)          # frozen: not optimised
    assert not any(n.startswith('encoder.conv1') for n in lrs)          # frozen stem (--freeze_layer_num 0)
    # One loss step at the released sizes (B = 4: 1 positive + 3 hard negatives; T = 10; 224 px).
    import torch
    g = torch.Generator().manual_seed(0)
    inputs = [{'video': torch.randint(0, 256, (10, 3, 224, 224), generator=g, dtype=torch.uint8),
               'frame_mask': torch.arange(10) < 10 - i,
               'image': torch.randint(0, 256, (3, 224, 224), generator=g, dtype=torch.uint8)} for i in range(4)]
    samples = [dict(role='pair', sample_id=f'c{i}', item_id=f'p{i}', label=i, title=f'red shirt {i}',
                    asr='' if i == 3 else f'look at this shirt {i}') for i in range(4)]
    data = model.data_preprocessor({'inputs': inputs, 'data_samples': samples}, training=True)
    losses = model(**data, mode='loss')
    assert {k for k in losses if k.startswith('loss_')} == {'loss_txt', 'loss_base', 'loss_reg', 'loss_gnn',
                                                            'loss_pairwise'}
    assert all(torch.isfinite(v).all() for k, v in losses.items() if k.startswith('loss_'))
