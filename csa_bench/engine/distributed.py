"""Distributed set-up around mmengine's launchers: process group, global batch, global-batch logs.

The launchers are mmengine's (``init_dist('pytorch' | 'slurm')``, ``MMDistributedDataParallel``,
``DefaultSampler``/``InfiniteSampler`` sharding, ``collect_results`` for metrics). This module adds
three things the recipe needs (method.md §0, §8) and mmengine leaves to the user:

1. **Global batch.** A config states ``global_batch_size = G`` (the recipe's batch, e.g. 96); the
   per-process batch ``B = G / W`` is derived from the world size ``W`` when
   ``train_dataloader.batch_size`` is absent or None, and checked when it is set. ``G % W != 0`` is an
   error, and so is a ``B`` that some module cannot split: any submodule with an integer attribute
   ``per_rank_batch_multiple``, or else ``chunk_anchors`` (the PMD decodes anchors in chunks of 2,
   so B must be even), constrains B.
2. **CPU process groups.** mmengine's ``_init_dist_pytorch``/``_init_dist_slurm`` call
   ``torch.cuda.set_device(local_rank)`` unconditionally and wrap the model with
   ``device_ids=[LOCAL_RANK]``; both fail on a host without CUDA. On such a host (gloo backend only)
   the device call is skipped for the duration of mmengine's ``init_dist`` and the model wrapper gets
   ``device_ids=None``. Nothing else changes: the same launcher code reads the same env variables.
3. **Global-batch logs.** mmengine logs rank 0's losses, i.e. the loss of ``B`` rows, not ``G``.
   :class:`GlobalBatchLogHook` averages every logged value over the ranks before it is logged (one
   ``all_reduce`` of a few scalars per iteration), so a W-process log reads like the 1-process log
   with the same global batch (all ranks hold ``B`` rows, so the mean of the rank means is the mean
   over ``G``).
"""
from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.dist import get_dist_info, init_dist, is_distributed
from mmengine.hooks import Hook
from mmengine.utils.dl_utils import set_multi_processing
from torch import nn

from csa_bench.registry import HOOKS


class DistributedConfigError(ValueError):
    """A launcher / backend / batch setting that cannot work on this set of processes."""


@dataclass(frozen=True)
class BatchPlan:
    """How the global batch is split: ``global_batch = world_size × per_rank``."""

    global_batch: int
    world_size: int
    per_rank: int
    derived: bool  # True: per_rank came from global_batch_size; False: from train_dataloader.batch_size

    def describe(self) -> str:
        source = 'derived from global_batch_size' if self.derived else 'train_dataloader.batch_size'
        return (f'global batch {self.global_batch} = {self.world_size} process(es) × {self.per_rank} '
                f'per process ({source})')


def plan_batch(global_batch_size: int | None, batch_size: int | None, world_size: int,
               multiple: int = 1, source: str = 'config') -> BatchPlan:
    """Resolve the per-process batch from the global batch and the world size.

    Args:
        global_batch_size: The config's top-level ``global_batch_size`` (None: not stated).
        batch_size: ``train_dataloader.batch_size`` (None: derive it).
        world_size: Number of processes ``W``.
        multiple: The per-process batch must be a multiple of this (2 with the PMD).
        source: Name of the config file, for the error messages.

    Raises:
        DistributedConfigError: neither value is given, ``G`` is not divisible by ``W``, the two
            values disagree, or the per-process batch is not a multiple of ``multiple``.
    """
    if global_batch_size is None and batch_size is None:
        raise DistributedConfigError(f'{source}: set global_batch_size (top level) or '
                                     'train_dataloader.batch_size')
    if global_batch_size is None:
        plan = BatchPlan(batch_size * world_size, world_size, batch_size, derived=False)
    else:
        if global_batch_size <= 0 or global_batch_size % world_size:
            raise DistributedConfigError(
                f'{source}: global_batch_size={global_batch_size} is not divisible by the world size '
                f'{world_size}; pick a global batch that is a multiple of the number of processes')
        per_rank = global_batch_size // world_size
        if batch_size is not None and batch_size != per_rank:
            raise DistributedConfigError(
                f'{source}: train_dataloader.batch_size={batch_size} × {world_size} process(es) = '
                f'{batch_size * world_size} != global_batch_size={global_batch_size}; remove '
                'train_dataloader.batch_size (it is derived) or make the two agree')
        plan = BatchPlan(global_batch_size, world_size, per_rank, derived=batch_size is None)
    _check_multiple(plan, multiple, source)
    return plan


def _check_multiple(plan: BatchPlan, multiple: int, source: str) -> None:
    if plan.per_rank % multiple:
        raise DistributedConfigError(
            f'{source}: the per-process batch {plan.per_rank} ({plan.describe()}) must be a multiple of '
            f'{multiple} (the PMD decodes anchors in pairs, method.md §5: B must be even); change '
            'global_batch_size or the number of processes')


def batch_multiple(model: nn.Module) -> int:
    """LCM of every submodule's ``per_rank_batch_multiple`` (else ``chunk_anchors``); 1 when none has one."""
    result = 1
    for module in model.modules():
        value = getattr(module, 'per_rank_batch_multiple', getattr(module, 'chunk_anchors', None))
        if isinstance(value, int) and value > 1:
            result = math.lcm(result, value)
    return result


def apply_batch_plan(cfg: Config, world_size: int) -> BatchPlan:
    """Write the per-process batch into ``cfg.train_dataloader`` (the multiple is checked later)."""
    loader = cfg.get('train_dataloader')
    if loader is None:
        raise DistributedConfigError(f'{cfg.get("filename", "config")}: no train_dataloader to train with')
    plan = plan_batch(cfg.get('global_batch_size'), loader.get('batch_size'), world_size,
                      source=str(cfg.get('filename', 'config')))
    loader['batch_size'] = plan.per_rank
    return plan


def check_batch_multiple(plan: BatchPlan, model: nn.Module, source: str = 'config') -> None:
    """Raise when the built model needs a per-process batch that ``plan`` does not give."""
    _check_multiple(plan, batch_multiple(model), source)


@contextlib.contextmanager
def _no_cuda_set_device() -> Iterator[None]:
    """Skip mmengine's unconditional ``torch.cuda.set_device`` on a host without CUDA."""
    original = torch.cuda.set_device
    torch.cuda.set_device = lambda device: None
    try:
        yield
    finally:
        torch.cuda.set_device = original


def init_distributed(cfg: Config, launcher: str) -> tuple[int, int]:
    """Start the process group with mmengine's launcher before the Runner is built.

    The Runner then finds the group initialised and skips its own ``init_dist``; starting it here
    lets the caller size the batch from the world size before any dataloader exists. On a host
    without CUDA the backend must be gloo and the model wrapper gets ``device_ids=None``
    (``cfg.model_wrapper_cfg``) because mmengine's default passes ``[LOCAL_RANK]``.

    Returns:
        ``(rank, world_size)``; ``(0, 1)`` for ``launcher='none'``.
    """
    if launcher == 'none':
        return 0, 1
    env_cfg = cfg.get('env_cfg', {})
    dist_cfg = dict(env_cfg.get('dist_cfg', {}))
    backend = dist_cfg.get('backend', 'nccl')
    cuda = torch.cuda.is_available()
    if not cuda and backend != 'gloo':
        raise DistributedConfigError(
            f'backend {backend!r} needs CUDA and this host has none; add '
            '`--cfg-options env_cfg.dist_cfg.backend=gloo` to train on CPU processes')
    if not is_distributed():
        set_multi_processing(**env_cfg.get('mp_cfg', {}), distributed=True)
        guard = contextlib.nullcontext() if cuda else _no_cuda_set_device()
        with guard:
            init_dist(launcher, **dist_cfg)
    if not cuda and cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(type='MMDistributedDataParallel', device_ids=None,
                                     broadcast_buffers=False,
                                     find_unused_parameters=cfg.get('find_unused_parameters', False))
    return get_dist_info()


@HOOKS.register_module()
class GlobalBatchLogHook(Hook):
    """Average the logged training values over the ranks, so logs describe the global batch.

    Runs before mmengine's ``RuntimeInfoHook`` (priority HIGHEST) and rewrites the ``outputs`` dict
    of ``train_step`` in place. On one process it does nothing. Added by ``csa_bench.engine.api.train``
    to every distributed run.
    """

    priority = 'HIGHEST'

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs: dict | None = None) -> None:
        if not outputs or not (torch_dist.is_available() and torch_dist.is_initialized()):
            return
        world = torch_dist.get_world_size()
        if world == 1:
            return
        keys = list(outputs)
        tensors = [v for v in outputs.values() if isinstance(v, torch.Tensor)]
        device = tensors[0].device if tensors else torch.device('cpu')
        if torch_dist.get_backend() == 'nccl':
            device = torch.device('cuda', torch.cuda.current_device())
        values = torch.stack([torch.as_tensor(outputs[k], dtype=torch.float64).detach().reshape(())
                              .to(device) for k in keys])
        torch_dist.all_reduce(values, op=torch_dist.ReduceOp.SUM)
        values /= world
        for key, value in zip(keys, values.tolist(), strict=True):
            outputs[key] = torch.tensor(value)


def describe_launch() -> str:
    """One line naming the process layout, for the log."""
    rank, world = get_dist_info()
    per_node = os.environ.get('LOCAL_WORLD_SIZE') or os.environ.get('SLURM_NTASKS_PER_NODE') or '?'
    local = os.environ.get('LOCAL_RANK', 0)
    return f'rank {rank} of {world} processes ({per_node} per node, local rank {local})'
