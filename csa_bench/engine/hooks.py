"""Reliability hooks: stop (or skip) on a non-finite loss, and restore RNG states on resume.

``NonFiniteLossHook`` checks every loss term *before* the optimizer sees it, so a NaN never reaches
the weights and no checkpoint of NaN weights is ever written (``AtomicCheckpointHook`` refuses
non-finite weights as a second guard). ``RNGStateHook`` makes ``--resume`` exact: mmengine's
``Runner.resume`` restores model, optimizer and schedulers but re-seeds the generators instead of
restoring them.
"""
from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from mmengine.dist import get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from csa_bench.registry import HOOKS

NONFINITE_ACTIONS = ('raise', 'skip')


class NonFiniteLossError(FloatingPointError):
    """A loss term is NaN or inf; the message names the iteration and the term."""


def _unwrap(model: torch.nn.Module) -> torch.nn.Module:
    return model.module if is_model_wrapper(model) else model


def _as_float(value: Any) -> float:
    if isinstance(value, torch.Tensor):
        return float(value.detach().float().mean())
    if isinstance(value, list | tuple):
        return float(sum(_as_float(v) for v in value))
    return float(value)


def nonfinite_terms(losses: Mapping[str, Any]) -> dict[str, float]:
    """The ``loss*`` entries of a model's loss dict whose value is NaN or +-inf: ``{name: value}``."""
    bad = {}
    for name, value in losses.items():
        if 'loss' in name:
            number = _as_float(value)
            if not math.isfinite(number):
                bad[name] = number
    return bad


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stop training, or skip the optimizer step, when a loss term is NaN or inf.

    The hook wraps the model's ``parse_losses`` (mmengine's ``train_step`` calls it between the
    forward pass and ``optim_wrapper.update_params``), which is the last point where the individual
    loss terms are known and the weights are still untouched. The wrapper is removed after training.

    - ``action='raise'``: :class:`NonFiniteLossError` naming the iteration (1-based, as the log
      prints it) and every non-finite term. The weights are those of the previous step, and the
      last checkpoint on disk is the last good one.
    - ``action='skip'``: the step is not applied (no gradient reaches any parameter, so the
      optimizer's momentum and weight decay are untouched too); the iteration counter and the LR
      schedule advance. Each skip is logged and counted (``nonfinite_skips`` in the log);
      ``max_consecutive_skips`` in a row raise, since training has then diverged. With
      ``AmpOptimWrapper`` the loss passes through unchanged: its GradScaler already skips a step
      whose gradients are non-finite (and lowers the scale). ``skip`` is single-process only: under
      DDP a rank that skips the backward would desynchronise the gradient all-reduce. With
      ``raise`` under DDP, a rank whose own loss is finite keeps going until its next collective
      fails (ICL/PMD with ``gather=True`` see the same global batch, so their losses agree).

    Args:
        action: ``'raise'`` or ``'skip'``.
        max_consecutive_skips: Raise after this many skipped steps in a row (``skip`` only).
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, action: str = 'raise', max_consecutive_skips: int = 10) -> None:
        if action not in NONFINITE_ACTIONS:
            raise ValueError(f'NonFiniteLossHook.action must be one of {NONFINITE_ACTIONS}, got {action!r}')
        if max_consecutive_skips < 1:
            raise ValueError(f'max_consecutive_skips must be >= 1, got {max_consecutive_skips}')
        self.action = action
        self.max_consecutive_skips = max_consecutive_skips
        self.skipped: list[int] = []
        self._consecutive = 0
        self._model: torch.nn.Module | None = None

    def before_train(self, runner) -> None:
        if self.action == 'skip' and get_world_size() > 1:
            raise ValueError("NonFiniteLossHook(action='skip') is single-process only (a skipped backward "
                             "on one rank desynchronises DDP); use action='raise' for distributed training")
        model = _unwrap(runner.model)
        original: Callable = model.parse_losses
        self._model = model

        def guarded_parse_losses(losses: dict) -> tuple[torch.Tensor, dict]:
            loss, log_vars = original(losses)
            bad = nonfinite_terms(losses)
            if not bad and math.isfinite(_as_float(loss)):
                self._consecutive = 0
                if self.skipped:   # keep the count visible in the log once a step was skipped
                    log_vars['nonfinite_skips'] = float(len(self.skipped))
                return loss, log_vars
            return self._on_nonfinite(runner, bad or {'loss (sum of finite terms)': _as_float(loss)},
                                      loss, log_vars)

        model.parse_losses = guarded_parse_losses  # instance attribute shadows the method

    def _on_nonfinite(self, runner, bad: dict[str, float], loss: torch.Tensor,
                      log_vars: dict) -> tuple[torch.Tensor, dict]:
        iteration = runner.iter + 1
        terms = ', '.join(f'{name}={value}' for name, value in bad.items())
        where = f'iteration {iteration}/{runner.max_iters}: non-finite loss ({terms})'
        if self.action == 'raise':
            last = runner.message_hub.get_info('last_ckpt')
            raise NonFiniteLossError(f'{where}; training stopped before the optimizer step, the '
                                     f'weights were not updated; last checkpoint: {last or "none"}')
        self.skipped.append(iteration)
        self._consecutive += 1
        if self._consecutive >= self.max_consecutive_skips:
            raise NonFiniteLossError(f'{where}; {self._consecutive} consecutive steps skipped '
                                     f'(max_consecutive_skips={self.max_consecutive_skips}): '
                                     'training diverged')
        runner.logger.warning(f'{where}; optimizer step skipped ({len(self.skipped)} so far)')
        clean = {k: v for k, v in log_vars.items() if math.isfinite(_as_float(v))}
        clean['nonfinite_skips'] = float(len(self.skipped))
        if getattr(runner.optim_wrapper, 'loss_scaler', None) is not None:
            return loss, clean   # AMP: GradScaler skips the non-finite step itself
        # A fresh leaf: backward reaches no parameter, every .grad stays None, optimizer.step skips all.
        return torch.zeros((), device=loss.device, requires_grad=True), clean

    def after_train(self, runner) -> None:
        if self._model is not None and 'parse_losses' in self._model.__dict__:
            del self._model.parse_losses
        if self.skipped:
            runner.logger.warning(f'NonFiniteLossHook: {len(self.skipped)} step(s) skipped for a non-finite '
                                  f'loss, at iterations {self.skipped}')


# ---------------------------------------------------------------------------------------------- RNG
def capture_rng_state() -> dict:
    """The state of every generator training draws from: python, numpy, torch CPU (+ CUDA)."""
    state = {'python': random.getstate(), 'numpy': np.random.get_state(), 'torch': torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: Mapping) -> None:
    """Inverse of :func:`capture_rng_state` (tensors may come back on a GPU: set them from CPU)."""
    random.setstate(state['python'])
    np.random.set_state(state['numpy'])
    torch.set_rng_state(state['torch'].cpu())
    if state.get('cuda') is not None and torch.cuda.is_available():
        cuda_states = [s.cpu() for s in state['cuda']]
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_states)
        else:
            torch.cuda.set_rng_state(cuda_states[0])


class _RestoreAfterReplay:
    """Wraps the train loop's dataloader iterator: restores the RNG states right before the first new batch.

    On resume, mmengine's ``IterBasedTrainLoop.run`` replays the dataloader to the resumed position
    (``next()`` once per trained iteration) and then fetches the next batch. With ``num_workers=0``
    the replay runs the random augmentations in this process and consumes its generators, so the
    states must be restored after the replay, not before; with workers the replay is what brings the
    workers' own generators (seeded by mmengine's ``worker_init_fn``) back to the same point.
    """

    def __init__(self, iterator, replayed: int, restore: Callable[[], None]) -> None:
        self._iterator, self._replayed, self._restore = iterator, replayed, restore
        self._calls = 0

    def __iter__(self):
        return self

    def __next__(self):
        if self._calls == self._replayed:
            self._restore()
        self._calls += 1
        return next(self._iterator)

    def __getattr__(self, name: str):   # _dataloader, _iterator, ... of mmengine's iterator
        return getattr(self._iterator, name)


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Save the generators' states in every checkpoint; restore them when training resumes.

    Saved under ``checkpoint['rng_state']`` (``{'python', 'numpy', 'torch'[, 'cuda'], 'iter',
    'world_size'}``; the numpy state is written as a tensor by the plain checkpoint format). The
    states are those right after the checkpoint's iteration; they are restored exactly when the
    resumed run fetches its first new batch:

    - iteration-based loops replay the dataloader to the resumed position first (see
      :class:`_RestoreAfterReplay`), so the states are restored after that replay, which makes
      resume exact with and without dataloader workers (workers are re-seeded from (seed, rank,
      worker id) by mmengine's ``worker_init_fn`` and replayed to the same batch);
    - epoch-based loops do not replay; the states are restored at ``before_train``.

    Validation inside training must not move the training generators either (the resumed run does
    not repeat the validation that followed its checkpoint): the states are captured at
    ``before_val`` and restored at ``after_val``. So training is also identical with and without
    in-training validation.

    A checkpoint loaded with ``load_from`` (fine-tuning, iteration 0) keeps the fresh seed. Only
    single-process states are restored: ``save_checkpoint`` runs on rank 0 alone, so other ranks'
    generators are not in the file; with several ranks the hook logs that they re-seed.
    """

    priority = 'VERY_LOW'   # after every other before_train hook, right before the loop starts

    def __init__(self) -> None:
        self._pending: dict | None = None
        self._before_val: dict | None = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        state = capture_rng_state()
        state.update(iter=int(checkpoint.get('meta', {}).get('iter', runner.iter)),
                     world_size=get_world_size())
        checkpoint['rng_state'] = state

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._pending = checkpoint.get('rng_state')
        if self._pending is None:
            runner.logger.warning('checkpoint has no rng_state (not written by RNGStateHook): a resumed run '
                                  're-seeds and will not replay the uninterrupted run exactly')

    def before_train(self, runner) -> None:
        state, self._pending = self._pending, None
        if state is None or runner.iter == 0 or runner.iter != state['iter']:
            return
        if state['world_size'] != 1 or get_world_size() != 1:
            runner.logger.warning('RNG states are restored for single-process runs only; with '
                                  f'{get_world_size()} ranks every rank re-seeds')
            return

        def restore() -> None:
            restore_rng_state(state)
            runner.logger.info(f'restored python/numpy/torch RNG states of iteration {state["iter"]}')

        loop = runner.train_loop
        if hasattr(loop, 'dataloader_iterator'):   # IterBasedTrainLoop: restore after its replay
            loop.dataloader_iterator = _RestoreAfterReplay(loop.dataloader_iterator, runner.iter, restore)
        else:
            restore()

    def before_val(self, runner) -> None:
        self._before_val = capture_rng_state()

    def after_val(self, runner) -> None:
        state, self._before_val = self._before_val, None
        if state is not None:
            restore_rng_state(state)
