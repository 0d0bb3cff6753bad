"""Programmatic train / test entry points shared by the CLI and ``csa-bench reproduce``."""
from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from mmengine.config import Config, DictAction  # noqa: F401  (DictAction re-exported for the CLI)
from mmengine.dist import get_rank

from csa_bench.checkpoints.files import load_official, peek_official

from . import checkpoint as _checkpoint
from . import distributed as _dist
from . import workdir as _workdir
from .overrides import OverrideError, apply_overrides
from .precision import PrecisionError, configure_amp
from .strict_load import CheckedRunner, CheckpointMismatchError
from .validation import validate_config


class ConfigError(ValueError):
    """A config that cannot be used: missing file, unknown key, bad value."""


#: Errors about a checkpoint or work dir that the CLI prints as one line (they name the file).
CheckpointError = (_checkpoint.UnsafeCheckpointError, CheckpointMismatchError, _workdir.WorkDirError)


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
    #: With ``allow_partial``: ``{'missing', 'unexpected', 'shape_mismatch'}`` key counts of the load.
    partial_load: dict | None = None
    #: The checkpoint was allowed to be fully unpickled (``unsafe_load``).
    unsafe_load: bool = False
    #: The first retrieval metric's per-query outcome (``functional.per_query_outcome``), or None.
    per_query: dict | None = None


def load_config(config: str | os.PathLike, cfg_options: dict | None = None,
                work_dir: str | None = None) -> Config:
    """Read a config file, apply ``--cfg-options`` and set the work dir.

    Overrides follow :mod:`csa_bench.engine.overrides`: an unknown or ignored key is an error before
    anything is built, ``train_cfg.max_iters`` rescales the schedule, and the overrides are recorded
    as ``cfg.cfg_options`` (result files carry them). The default work dir is
    ``work_dirs/<config stem>`` (mmpretrain's convention).
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
            apply_overrides(cfg, cfg_options, source=str(path))
        except OverrideError as err:
            raise ConfigError(str(err)) from err
    cfg.work_dir = work_dir or cfg.get('work_dir') or str(Path('work_dirs') / path.stem)
    cfg.setdefault('filename', str(path))
    return cfg


def _flag(value: bool | None, cfg: Config, key: str) -> bool:
    """An API/CLI flag, else the config's top-level key of the same name (default False)."""
    return bool(cfg.get(key, False)) if value is None else bool(value)


def _last_checkpoint(work_dir: str) -> str | None:
    with contextlib.suppress(_workdir.WorkDirError):
        found = _workdir.resolve_last_checkpoint(work_dir)
        return str(found) if found else None
    return None


def _plan_resume(cfg: Config, resume: str | bool) -> None:
    """Set ``cfg.resume``/``cfg.load_from`` for ``resume``; an automatic resume reads ``last_checkpoint``
    relative to the work dir (mmengine's own lookup would read it relative to the current directory)."""
    if resume is True or resume == 'auto':
        found = _workdir.resolve_last_checkpoint(cfg.work_dir)
        if found is None:
            leftovers = [n for n in _workdir.checkpoints_in(cfg.work_dir) if n != _workdir.MARKER_NAME]
            if leftovers:
                raise _workdir.WorkDirError(
                    f'--resume: work dir {cfg.work_dir} has checkpoints ({", ".join(leftovers[:4])}) but no '
                    'last_checkpoint marker; pass --resume PATH to name the one to resume from')
            cfg.resume, cfg.load_from = False, None   # nothing saved yet: start at iteration 0
        else:
            cfg.resume, cfg.load_from = True, str(found)
    elif resume:
        if not Path(resume).is_file():
            raise ConfigError(f'checkpoint {resume} does not exist')
        cfg.resume, cfg.load_from = True, str(resume)
    else:
        cfg.resume = False


def train(config: str | os.PathLike, *, work_dir: str | None = None, cfg_options: dict | None = None,
          resume: str | bool = False, amp: bool = False, launcher: str = 'none',
          seed: int | None = None, amp_dtype: str | None = None, overwrite: bool = False,
          allow_partial: bool | None = None, unsafe_load: bool | None = None) -> TrainOutcome:
    """Train ``config`` with mmengine's Runner; returns the work dir and last checkpoint.

    Args:
        resume: False, True/'auto' (the checkpoint ``last_checkpoint`` names; none yet: start at
            iteration 0) or a checkpoint path. The config's ``resume = True`` counts as 'auto'.
        amp: Mixed precision: ``AmpOptimWrapper`` on CUDA, ``CPUAutocastOptimWrapper`` (bf16) on CPU
            (see ``csa_bench.engine.precision``).
        launcher: 'none', 'pytorch' (torchrun) or 'slurm'. The per-process batch is derived from
            the config's ``global_batch_size`` and the world size (``csa_bench.engine.distributed``).
        seed: Overrides ``randomness.seed``.
        amp_dtype: 'float16' or 'bfloat16' with ``amp`` (default: the config's, else float16).
        overwrite: Start from iteration 0 in a work dir that holds another run's checkpoints
            (``csa_bench.engine.workdir.check_fresh_start``); without it such a start is refused.
        allow_partial: Load a ``load_from``/resume checkpoint whose keys do not match the model
            (default: the config's ``allow_partial``, else False: refused, see ``strict_load``).
        unsafe_load: Fully unpickle a checkpoint that is not plain data (default: the config's
            ``unsafe_load``, else False: refused, see ``checkpoint``). Only for trusted files.

    Raises:
        ConfigError: the config cannot be used. ``CheckpointError`` members: the work dir is busy or
            holds another run, a checkpoint is unsafe or does not fit the model.
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
    if not resume and cfg.get('resume'):
        resume = cfg.get('load_from') or 'auto'
    allow_partial, unsafe_load = _flag(allow_partial, cfg, 'allow_partial'), _flag(unsafe_load, cfg, 'unsafe_load')
    try:
        _, world_size = _dist.init_distributed(cfg, launcher)
    except _dist.DistributedConfigError as err:
        raise ConfigError(str(err)) from err
    stale: list[Path] = []
    with contextlib.ExitStack() as stack:
        if get_rank() == 0:   # rank 0 owns the work dir; the other ranks write nothing there
            stack.enter_context(_workdir.locked(cfg.work_dir))
            stale = _workdir.remove_stale_temporaries(cfg.work_dir)
        _plan_resume(cfg, resume)
        if get_rank() == 0 and not cfg.resume:
            _workdir.check_fresh_start(cfg.work_dir, overwrite=overwrite)
        stack.enter_context(_checkpoint.unsafe_loading(unsafe_load))
        try:
            plan = _dist.apply_batch_plan(cfg, world_size)
            runner = CheckedRunner.from_cfg(cfg)
            _dist.check_batch_multiple(plan, runner.model, source=str(cfg.filename))
        except _dist.DistributedConfigError as err:
            raise ConfigError(str(err)) from err
        runner.allow_partial = allow_partial
        if stale:
            runner.logger.warning(f'removed {len(stale)} temporary file(s) of an interrupted save: '
                                  f'{", ".join(p.name for p in stale)}')
        runner.logger.info(f'{plan.describe()}; {_dist.describe_launch()}')
        if world_size > 1 and not any(isinstance(h, _dist.GlobalBatchLogHook) for h in runner.hooks):
            runner.register_hook(_dist.GlobalBatchLogHook())  # logs show the global batch, not rank 0's
        start = time.perf_counter()
        runner.train()
        elapsed = time.perf_counter() - start
    return TrainOutcome(work_dir=cfg.work_dir, checkpoint=_last_checkpoint(cfg.work_dir),
                        train_time_s=elapsed, config=cfg)


def test(config: str | os.PathLike, checkpoint: str | None = None, *, work_dir: str | None = None,
         cfg_options: dict | None = None, launcher: str = 'none', allow_partial: bool | None = None,
         unsafe_load: bool | None = None) -> TestOutcome:
    """Evaluate ``config`` (with ``checkpoint``, or the model's initial/pretrained weights).

    Args:
        allow_partial: Score a checkpoint whose keys do not match the model (default: the config's
            ``allow_partial``, else False: refused); the key counts go to ``TestOutcome.partial_load``.
        unsafe_load: Fully unpickle a checkpoint that is not plain data (default: the config's
            ``unsafe_load``, else False: refused). Only for trusted files.
    """
    cfg = load_config(config, cfg_options, work_dir)
    validate_config(cfg, error=ConfigError)
    cfg.launcher = launcher
    if checkpoint is not None and not Path(checkpoint).is_file():
        raise ConfigError(f'checkpoint {checkpoint} does not exist')
    allow_partial, unsafe_load = _flag(allow_partial, cfg, 'allow_partial'), _flag(unsafe_load, cfg, 'unsafe_load')
    # [official-checkpoint hook 1/2] An authors' released file (plain state dict in their layout) is
    # converted in memory after the model is built, so the runner must not load it itself.
    official = peek_official(checkpoint)
    cfg.load_from = None if official is not None else checkpoint
    cfg.resume = False
    try:
        _dist.init_distributed(cfg, launcher)
    except _dist.DistributedConfigError as err:
        raise ConfigError(str(err)) from err
    with _checkpoint.unsafe_loading(unsafe_load):
        runner = CheckedRunner.from_cfg(cfg)
        runner.allow_partial = allow_partial
        if official is not None:  # [official-checkpoint hook 2/2] strict, see csa_bench/checkpoints/files.py
            result = load_official(runner.model, official)
            runner.logger.info(f'converted official checkpoint {checkpoint} ({official.converter}) in memory; '
                               f'dropped {len(result.dropped)} official keys: {sorted(result.dropped)}')
        start = time.perf_counter()
        metrics = runner.test()
        elapsed = time.perf_counter() - start
    bad = (runner.message_hub.get_info('bad_samples') or {}).get('test', {})
    partial = (runner.partial_load or {'missing': 0, 'unexpected': 0, 'shape_mismatch': 0}) if allow_partial else None
    per_query = next((m.last_result['per_query'] for m in runner.test_loop.evaluator.metrics
                      if isinstance(getattr(m, 'last_result', None), dict) and 'per_query' in m.last_result),
                     None)
    return TestOutcome(metrics=dict(metrics), work_dir=cfg.work_dir, test_time_s=elapsed, config=cfg,
                       bad_samples=bad, partial_load=partial, unsafe_load=unsafe_load, per_query=per_query)
