"""Training step: our Runner path vs a bare PyTorch loop, and data loading vs model consumption.

Both figures are ratios taken in one run on one machine, from one config:

* ``runner_overhead``: median seconds per step of ``runner.train_loop.run_iter(batch)`` (mmengine's
  ``train_step`` through the optim wrapper + every hook of the config: timer, logger, scheduler,
  checkpoint, ...) over the median of a bare loop on the **same model, optimizer and pre-collated
  batch** (data preprocessor, forward, ``sum(loss_*)``, ``zero_grad``, ``backward``, ``step``), minus 1.
  Steps alternate between the two paths (ABBA order) so that load from other processes hits both
  alike; ``--threads 1`` gives steadier figures on a shared machine.
  Goal: ≤ 0.05.
* ``loader_headroom``: the runner's median step time over the mean seconds per batch of the config's
  train dataloader (its own ``num_workers``, drained without a model). ≥ 1 means the loader produces
  batches at least as fast as the model consumes them. On a CPU-only host the loader workers and
  the model share cores during real training, so the headroom is an upper bound there; on a GPU
  host it is the relevant figure.

The warm-up is a real ``runner.train()`` of ``--warmup`` iterations (it also builds the loop, the
optim wrapper and the schedulers); validation and checkpoints are switched off for the benchmark.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
from mmengine.config import DictAction
from mmengine.runner import Runner

#: The tiny synthetic RICE (ICL + PMD) config, relative to the installed project (never the current
#: directory); any training config works.
DEFAULT_CONFIG = 'configs/rice/rice-icl-pmd_clipvit-tiny_4f_1xb16-1000it_synthetic-lpr4m.py'


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from csa_bench.plugin_loader import project_root

    parser.add_argument('--config', default=str(project_root() / DEFAULT_CONFIG),
                        help='training config (default: the project\'s tiny synthetic RICE)')
    parser.add_argument('--steps', type=int, default=20, help='timed steps per path')
    parser.add_argument('--warmup', type=int, default=3, help='real runner.train() iterations before timing')
    parser.add_argument('--loader-batches', type=int, default=20, help='batches drawn from the dataloader')
    parser.add_argument('--num-workers', type=int, default=None, help='override train_dataloader.num_workers')
    parser.add_argument('--threads', type=int, default=0, help='torch intra-op threads (0: leave as is)')
    parser.add_argument('--work-dir', default=None, help='runner work dir (default: a temporary folder)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default=None, metavar='KEY=VALUE')


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def build_warm_runner(config: str, work_dir: str, warmup: int, cfg_options: dict | None = None,
                      num_workers: int | None = None) -> Runner:
    """A Runner after a real ``train()`` of ``warmup`` iterations, with val and checkpoints off."""
    from csa_bench.engine import api, distributed

    cfg = api.load_config(config, cfg_options, work_dir)
    cfg.train_cfg.max_iters = warmup
    cfg.train_cfg.val_interval = 10 ** 9
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', by_epoch=False, interval=10 ** 9,
                                        save_last=False)
    if num_workers is not None:
        cfg.train_dataloader.num_workers = num_workers
        if num_workers == 0:
            cfg.train_dataloader.persistent_workers = False
    distributed.apply_batch_plan(cfg, world_size=1)
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


def time_steps(runner: Runner, batch: dict, steps: int) -> tuple[list[float], list[float]]:
    """Alternate ``steps`` runner steps and bare steps on ``batch``; seconds per step of each."""
    model = runner.model.module if hasattr(runner.model, 'module') else runner.model
    optimizer = runner.optim_wrapper.optimizer

    def bare_step() -> None:
        data = model.data_preprocessor(batch, True)
        losses = model(**data, mode='loss')
        loss = sum(value for key, value in losses.items() if 'loss' in key)  # mmengine's parse_losses rule
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def timed(step) -> float:
        _sync()
        start = time.perf_counter()
        step()
        _sync()
        return time.perf_counter() - start

    model.train()
    ours, bare = [], []
    for i in range(steps):
        # ABBA order: neither path always runs right after the other (caches, allocator state).
        if i % 2:
            bare.append(timed(bare_step))
            ours.append(timed(lambda: runner.train_loop.run_iter(batch)))
        else:
            ours.append(timed(lambda: runner.train_loop.run_iter(batch)))
            bare.append(timed(bare_step))
    return ours, bare


def time_loader(iterator, batches: int, warmup: int = 2) -> float:
    """Mean seconds per batch drawn from ``iterator`` (the train loop's endless dataloader iterator)."""
    for _ in range(warmup):
        next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return (time.perf_counter() - start) / batches


def run(args: argparse.Namespace) -> dict:
    """Measure both figures; returns them with the raw medians (seconds)."""
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        runner = build_warm_runner(args.config, args.work_dir or str(Path(tmp) / 'work'), args.warmup,
                                   args.cfg_options, args.num_workers)
        loader = runner.train_loop.dataloader
        # The loop's own endless iterator: mmengine's InfiniteSampler supports one iterator only.
        iterator = runner.train_loop.dataloader_iterator
        batch = next(iterator)
        ours, bare = time_steps(runner, batch, args.steps)
        loader_s = time_loader(iterator, args.loader_batches)
    ours_s, bare_s = statistics.median(ours), statistics.median(bare)
    return {
        'config': args.config,
        'device': 'cuda' if torch.cuda.is_available() else 'cpu',
        'batch_size': loader.batch_size,
        'num_workers': loader.num_workers,
        'steps': args.steps,
        'threads': torch.get_num_threads(),
        'runner_step_s': ours_s,
        'bare_step_s': bare_s,
        'runner_overhead': ours_s / bare_s - 1.0,
        'loader_batch_s': loader_s,
        'loader_headroom': ours_s / loader_s,
    }
