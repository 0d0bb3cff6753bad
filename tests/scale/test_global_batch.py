"""Global-batch semantics: the per-process batch is derived from (or checked against) the world size."""
from __future__ import annotations

import pytest
import torch
from mmengine.config import Config
from torch import nn

from csa_bench.engine import api
from csa_bench.engine.distributed import (
    BatchPlan,
    DistributedConfigError,
    GlobalBatchLogHook,
    apply_batch_plan,
    batch_multiple,
    check_batch_multiple,
    init_distributed,
    plan_batch,
)


@pytest.mark.parametrize('world', [1, 2, 4, 8])
def test_per_rank_batch_is_derived_from_the_global_batch(world) -> None:
    plan = plan_batch(96, None, world)
    assert plan == BatchPlan(96, world, 96 // world, derived=True)
    assert plan.per_rank * plan.world_size == plan.global_batch


def test_explicit_batch_size_is_checked_against_the_global_batch() -> None:
    assert plan_batch(96, 48, 2).per_rank == 48
    message = r'batch_size=48 × 4 process\(es\) = 192 != global_batch_size=96'
    with pytest.raises(DistributedConfigError, match=message):
        plan_batch(96, 48, 4, source='cfg.py')


def test_indivisible_global_batch_is_an_error() -> None:
    message = 'cfg.py: global_batch_size=96 is not divisible by the world size 5'
    with pytest.raises(DistributedConfigError, match=message):
        plan_batch(96, None, 5, source='cfg.py')


def test_no_global_batch_keeps_the_per_process_batch() -> None:
    assert plan_batch(None, 8, 3) == BatchPlan(24, 3, 8, derived=False)
    with pytest.raises(DistributedConfigError, match='set global_batch_size'):
        plan_batch(None, None, 1)


def test_odd_per_rank_batch_is_refused_when_a_module_chunks_anchors_in_pairs() -> None:
    plan_batch(12, None, 4, multiple=1)  # B = 3 is fine without PMD
    with pytest.raises(DistributedConfigError, match='per-process batch 3 .* must be a multiple of 2'):
        plan_batch(12, None, 4, multiple=2)


class _Chunked(nn.Module):
    def __init__(self, chunk: int) -> None:
        super().__init__()
        self.chunk_anchors = chunk


class _Explicit(nn.Module):
    per_rank_batch_multiple = 3


def test_batch_multiple_reads_the_model() -> None:
    assert batch_multiple(nn.Linear(2, 2)) == 1
    assert batch_multiple(nn.Sequential(_Chunked(2), nn.Linear(1, 1))) == 2
    assert batch_multiple(nn.Sequential(_Chunked(2), _Explicit())) == 6
    with pytest.raises(DistributedConfigError, match='multiple of 2'):
        check_batch_multiple(plan_batch(6, None, 2), nn.Sequential(_Chunked(2)))


def test_pmd_loss_of_the_tiny_config_needs_an_even_batch(repo_root) -> None:
    from mmengine.registry import init_default_scope

    from csa_bench.registry import MODELS
    init_default_scope('csa_bench')
    cfg = Config.fromfile(str(repo_root / 'configs/_base_/models/rice-icl-pmd_clipvit-tiny.py'))
    assert batch_multiple(MODELS.build(cfg.model)) == 2


def test_apply_batch_plan_writes_the_dataloader_batch() -> None:
    cfg = Config(dict(global_batch_size=16, train_dataloader=dict(batch_size=None, num_workers=0)))
    plan = apply_batch_plan(cfg, world_size=2)
    assert cfg.train_dataloader.batch_size == 8 and plan.derived
    assert 'global batch 16 = 2 process(es) × 8 per process' in plan.describe()


def test_nccl_without_cuda_is_a_clear_error() -> None:
    if torch.cuda.is_available():
        pytest.skip('this host has CUDA: nccl is valid here')
    cfg = Config(dict(env_cfg=dict(dist_cfg=dict(backend='nccl'))))
    with pytest.raises(DistributedConfigError, match='env_cfg.dist_cfg.backend=gloo'):
        init_distributed(cfg, 'pytorch')
    assert init_distributed(cfg, 'none') == (0, 1)


def test_train_reports_a_batch_mismatch_as_a_config_error(tmp_path) -> None:
    config = tmp_path / 'mismatch.py'
    config.write_text("global_batch_size = 6\n"
                      "train_dataloader = dict(batch_size=4,\n"
                      "                        dataset=dict(type='LPR4MDataset', data_root='nowhere'),\n"
                      "                        sampler=dict(type='DefaultSampler'))\n")
    with pytest.raises(api.ConfigError, match=r'batch_size=4 × 1 process\(es\) = 4 != global_batch_size=6'):
        api.train(config, work_dir=str(tmp_path / 'wd'))


def test_log_hook_is_a_no_op_on_one_process() -> None:
    outputs = {'loss': torch.tensor(1.5)}
    GlobalBatchLogHook().after_train_iter(None, 0, outputs=outputs)
    assert outputs['loss'].item() == 1.5
