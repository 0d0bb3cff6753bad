"""The RICE recipe: name-rule lr / decay groups and the warmup-cosine schedule (method.md §8)."""
from __future__ import annotations

import math

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import PARAM_SCHEDULERS, init_default_scope

from csa_bench.registry import MODELS


def _model_and_schedule(repo_root, schedule: str = 'rice_adamw-5k.py'):
    init_default_scope('csa_bench')
    model_cfg = Config.fromfile(str(repo_root / 'configs/_base_/models/rice-icl-pmd-pfr_clipvit-tiny.py'))
    sched = Config.fromfile(str(repo_root / 'configs/_base_/schedules' / schedule))
    return MODELS.build(model_cfg.model), sched


def test_name_rules_give_the_official_groups(repo_root) -> None:
    model, sched = _model_and_schedule(repo_root)
    cfg = sched.optim_wrapper.to_dict()
    assert cfg['type'] == 'AmpOptimWrapper' and cfg['dtype'] == 'float16'
    cfg['type'] = 'OptimWrapper'  # AMP needs CUDA; the groups are what is under test
    cfg.pop('dtype'), cfg.pop('loss_scale')
    optimizer = build_optim_wrapper(model, cfg).optimizer
    assert optimizer.defaults['eps'] == 1e-6
    seen = {}
    for group in optimizer.param_groups:
        for name in group['param_names']:
            seen[name] = (group['lr'], group['weight_decay'])
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert set(seen) == trainable
    for name, (lr, wd) in seen.items():
        new_module = name.startswith(('losses.1.decoder.', 'losses.2.attn_head.'))
        assert lr == pytest.approx(1e-4 if new_module else 1e-6), name
        assert wd == (0.0 if 'bias' in name else 0.2), name
    assert seen['losses.0.logit_scale'] == (pytest.approx(1e-6), 0.2)
    assert seen['losses.1.decoder.cross_block.attn.in_proj_bias'][1] == 0.0
    assert seen['losses.1.decoder.score_head.weight'] == (pytest.approx(1e-4), 0.2)
    assert seen['encoder.vit.pos_embed'] == (pytest.approx(1e-6), 0.2)


def test_unknown_paramwise_key_is_an_error(repo_root) -> None:
    model, sched = _model_and_schedule(repo_root)
    cfg = sched.optim_wrapper.to_dict()
    cfg.update(type='OptimWrapper', paramwise_cfg=dict(lr_mult_key=['decoder.']))
    cfg.pop('dtype'), cfg.pop('loss_scale')
    with pytest.raises(KeyError, match='lr_mult_key'):
        build_optim_wrapper(model, cfg)


def test_schedule_is_linear_warmup_then_cosine(repo_root) -> None:
    _, sched = _model_and_schedule(repo_root)
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=1.0)
    schedulers = [PARAM_SCHEDULERS.build(dict(cfg, optimizer=optimizer)) for cfg in sched.param_scheduler]
    lrs = []
    for _ in range(5000):
        lrs.append(optimizer.param_groups[0]['lr'])
        optimizer.step()
        for s in schedulers:
            s.step()
    assert lrs[0] == pytest.approx(1e-8)  # HF uses exactly 0; 1e-8 is the chained-LinearLR floor
    for s in (1, 100, 250, 499):
        assert lrs[s] == pytest.approx(s / 500, abs=2e-8)  # method.md §8: within 1e-8 of HF
    for s in (500, 1000, 2750, 4999):
        assert lrs[s] == pytest.approx(0.5 * (1 + math.cos(math.pi * (s - 500) / 4500)), rel=1e-5, abs=1e-9)
