"""Programmatic train / test entry points shared by the CLI and ``csa-bench reproduce``."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from mmengine.config import Config, DictAction  # noqa: F401  (DictAction re-exported for the CLI)
from mmengine.runner import Runner

from . import checkpoint as _checkpoint  # noqa: F401  (torch>=2.6 resume fix, see checkpoint.py)
from . import distributed as _dist
from .precision import PrecisionError, configure_amp
from .validation import validate_config


class ConfigError(ValueError):
    """A config that cannot be used: missing file, unknown key, bad value."""


@dataclass
class TrainOutcome:
    """What a training run produced."""

    work_dir: str
    checkpoint: str | None
    train_time_s: float
    config: Config = field(repr=False)


@dataclass
class TestOutcome:
    """What an evaluation run produced."""

    metrics: dict
    work_dir: str
    test_time_s: float
    config: Config = field(repr=False)
    #: Samples skipped under ``on_bad_sample='skip'`` (``BadSampleReportHook``'s test report).
    bad_samples: dict = field(default_factory=dict)
    #: The first retrieval metric's per-query outcome (``functional.per_query_outcome``), or None.
    per_query: dict | None = None


def load_config(config: str | os.PathLike, cfg_options: dict | None = None,
                work_dir: str | None = None) -> Config:
    """Read a config file, apply ``--cfg-options`` and set the work dir.

    The default work dir is ``work_dirs/<config stem>`` (mmpretrain's convention).
    """
    path = Path(config)
    if not path.is_file():
        raise ConfigError(f'config {path} does not exist; list them with `ls configs/*/`')
    try:
        cfg = Config.fromfile(str(path))
    except (SyntaxError, TypeError, KeyError, ValueError, ImportError) as err:
        # mmengine's own messages (bad inheritance, unknown base, syntax) lack the file name.
        raise ConfigError(f'config {path} cannot be loaded: {type(err).__name__}: {err}') from err
    if cfg_options:
        try:
            cfg.merge_from_dict(cfg_options)
        except (TypeError, KeyError, ValueError) as err:
            raise ConfigError(f'--cfg-options {cfg_options} do not apply to {path}: {err}') from err
    cfg.work_dir = work_dir or cfg.get('work_dir') or str(Path('work_dirs') / path.stem)
    cfg.setdefault('filename', str(path))
    return cfg


def _find_resume_checkpoint(work_dir: str) -> str | None:
    marker = Path(work_dir) / 'last_checkpoint'
    if marker.is_file():
        target = marker.read_text().strip()
        if target and Path(target).is_file():
            return target
    return None


def train(config: str | os.PathLike, *, work_dir: str | None = None, cfg_options: dict | None = None,
          resume: str | bool = False, amp: bool = False, launcher: str = 'none',
          seed: int | None = None, amp_dtype: str | None = None) -> TrainOutcome:
    """Train ``config`` with mmengine's Runner; returns the work dir and last checkpoint.

    Args:
        resume: False, True/'auto' (latest checkpoint in the work dir) or a checkpoint path.
        amp: Mixed precision: ``AmpOptimWrapper`` on CUDA, ``CPUAutocastOptimWrapper`` (bf16) on CPU
            (see ``csa_bench.engine.precision``).
        launcher: 'none', 'pytorch' (torchrun) or 'slurm'. The per-process batch is derived from
            the config's ``global_batch_size`` and the world size (``csa_bench.engine.distributed``).
        seed: Overrides ``randomness.seed``.
        amp_dtype: 'float16' or 'bfloat16' with ``amp`` (default: the config's, else float16).
    """
    cfg = load_config(config, cfg_options, work_dir)
    validate_config(cfg, error=ConfigError)   # unknown keys / wrong types, with their key path
    cfg.launcher = launcher
    if seed is not None:
        cfg.randomness = dict(cfg.get('randomness', {}), seed=seed)
    if amp:
        try:
            configure_amp(cfg, amp_dtype)
        except PrecisionError as err:
            raise ConfigError(f'--amp: {err}') from err
    if resume:
        if resume is True or resume == 'auto':
            cfg.resume, cfg.load_from = True, None   # mmengine finds the latest checkpoint
        else:
            if not Path(resume).is_file():
                raise ConfigError(f'checkpoint {resume} does not exist')
            cfg.resume, cfg.load_from = True, str(resume)
    try:
        _, world_size = _dist.init_distributed(cfg, launcher)
        plan = _dist.apply_batch_plan(cfg, world_size)
        runner = Runner.from_cfg(cfg)
        _dist.check_batch_multiple(plan, runner.model, source=str(cfg.filename))
    except _dist.DistributedConfigError as err:
        raise ConfigError(str(err)) from err
    runner.logger.info(f'{plan.describe()}; {_dist.describe_launch()}')
    if world_size > 1 and not any(isinstance(h, _dist.GlobalBatchLogHook) for h in runner.hooks):
        runner.register_hook(_dist.GlobalBatchLogHook())  # logs show the global batch, not rank 0's
    start = time.perf_counter()
    runner.train()
    elapsed = time.perf_counter() - start
    return TrainOutcome(work_dir=cfg.work_dir, checkpoint=_find_resume_checkpoint(cfg.work_dir),
                        train_time_s=elapsed, config=cfg)


def test(config: str | os.PathLike, checkpoint: str | None = None, *, work_dir: str | None = None,
         cfg_options: dict | None = None, launcher: str = 'none') -> TestOutcome:
    """Evaluate ``config`` (with ``checkpoint``, or the model's initial/pretrained weights)."""
    cfg = load_config(config, cfg_options, work_dir)
    validate_config(cfg, error=ConfigError)
    cfg.launcher = launcher
    if checkpoint is not None and not Path(checkpoint).is_file():
        raise ConfigError(f'checkpoint {checkpoint} does not exist')
    cfg.load_from = checkpoint
    try:
        _dist.init_distributed(cfg, launcher)
    except _dist.DistributedConfigError as err:
        raise ConfigError(str(err)) from err
    runner = Runner.from_cfg(cfg)
    start = time.perf_counter()
    metrics = runner.test()
    elapsed = time.perf_counter() - start
    bad = (runner.message_hub.get_info('bad_samples') or {}).get('test', {})
    per_query = next((m.last_result['per_query'] for m in runner.test_loop.evaluator.metrics
                      if isinstance(getattr(m, 'last_result', None), dict) and 'per_query' in m.last_result),
                     None)
    return TestOutcome(metrics=dict(metrics), work_dir=cfg.work_dir, test_time_s=elapsed, config=cfg,
                       bad_samples=bad, per_query=per_query)
