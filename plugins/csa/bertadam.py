"""BertAdam: the optimiser of the V1 (CLIP4Clip-era) RICE recipe (docs/method_v1.md).

It differs from ``torch.optim.AdamW`` in four ways that change the trajectory:

- no bias correction: the update is ``m / (sqrt(v) + eps)`` with the raw moving averages, so the
  first steps are ``(1 - b1) / sqrt(1 - b2)`` times smaller than Adam's;
- each parameter's gradient is clipped to norm ``max_grad_norm`` on its own, before the moments
  are updated (a per-tensor clip, not a global one);
- weight decay is added to the update (``update += wd·p``) and so scaled by the learning rate but
  not by the moments; which parameters decay is decided by the groups (V1 exempts only names
  containing ``bias``: its LayerNorms are called ``ln_*``, so their weights decay);
- the learning-rate schedule lives in the optimiser: ``lr·f(step / t_total, warmup)`` with the
  per-parameter step count, evaluated **before** the count is incremented (the first update uses
  ``f(0) = 0`` under any warmup). Configs that use it set no mmengine ``param_scheduler``.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
from torch.optim import Optimizer

from csa_bench.registry import OPTIMIZERS


def warmup_cosine(x: float, warmup: float = 0.002) -> float:
    """``x/warmup`` during warmup, then ``0.5·(1 + cos(π·x))`` of the *whole* progress (not shifted)."""
    if x < warmup:
        return x / warmup
    return 0.5 * (1.0 + math.cos(math.pi * x))


def warmup_constant(x: float, warmup: float = 0.002) -> float:
    """``x/warmup`` during warmup, then 1."""
    if x < warmup:
        return x / warmup
    return 1.0


def warmup_linear(x: float, warmup: float = 0.002) -> float:
    """``x/warmup`` during warmup, then linear from 1 at ``warmup`` down to 0 at ``x = 1`` (0 after)."""
    if x < warmup:
        return x / warmup
    return max((x - 1.0) / (warmup - 1.0), 0.0)


#: The schedules by name, as V1 names them.
BERT_SCHEDULES: dict[str, Callable[[float, float], float]] = {
    'warmup_cosine': warmup_cosine,
    'warmup_constant': warmup_constant,
    'warmup_linear': warmup_linear,
}


@OPTIMIZERS.register_module()
class BertAdam(Optimizer):
    """Adam without bias correction, with per-parameter clipping and an internal warmup schedule.

    Per parameter ``p`` with gradient ``g`` at its ``s``-th update (``s`` from 0)::

        g  <- g · min(1, max_grad_norm / (||g|| + 1e-6))        (when max_grad_norm > 0)
        m  <- b1·m + (1 - b1)·g
        v  <- b2·v + (1 - b2)·g²
        u  = m / (sqrt(v) + e) + weight_decay·p
        p  <- p - lr·f(s / t_total, warmup)·u                   (f = 1 when t_total = -1)

    The moments live in the parameter's dtype (V1 trains fp16 CLIP weights this way).

    Args:
        params: Parameters or groups (groups may override every default below).
        lr: Peak learning rate.
        warmup: Warmup fraction of ``t_total`` in ``[0, 1)``, or -1 for none.
        t_total: Total updates of the schedule; -1 for a constant lr.
        schedule: A key of ``BERT_SCHEDULES`` (V1's script passes ``'warmup_cosine'``).
        b1, b2: Moment decay rates (V1: 0.9, 0.98).
        e: Epsilon added to ``sqrt(v)`` (1e-6).
        weight_decay: Decay added to the update (V1: 0.2 for weights, 0 for biases).
        max_grad_norm: Per-parameter gradient norm limit; <= 0 disables it.
    """

    def __init__(self, params: Iterable, lr: float, warmup: float = -1, t_total: int = -1,
                 schedule: str = 'warmup_linear', b1: float = 0.9, b2: float = 0.999, e: float = 1e-6,
                 weight_decay: float = 0.01, max_grad_norm: float = 1.0) -> None:
        if lr < 0.0:
            raise ValueError(f'BertAdam: lr must be >= 0, got {lr}')
        if schedule not in BERT_SCHEDULES:
            raise ValueError(f'BertAdam: schedule must be one of {sorted(BERT_SCHEDULES)}, got {schedule!r}')
        if not (0.0 <= warmup < 1.0 or warmup == -1):
            raise ValueError(f'BertAdam: warmup must be in [0, 1) or -1, got {warmup}')
        if not 0.0 <= b1 < 1.0 or not 0.0 <= b2 < 1.0:
            raise ValueError(f'BertAdam: b1 and b2 must be in [0, 1), got {b1}, {b2}')
        if e < 0.0:
            raise ValueError(f'BertAdam: e must be >= 0, got {e}')
        defaults = dict(lr=lr, warmup=warmup, t_total=t_total, schedule=schedule, b1=b1, b2=b2, e=e,
                        weight_decay=weight_decay, max_grad_norm=max_grad_norm)
        super().__init__(params, defaults)

    @staticmethod
    def scheduled_lr(group: dict, step: int) -> float:
        """The learning rate of ``group`` for a parameter that has made ``step`` updates."""
        if group['t_total'] == -1:
            return group['lr']
        return group['lr'] * BERT_SCHEDULES[group['schedule']](step / group['t_total'], group['warmup'])

    def get_lr(self) -> list[float]:
        """Current scheduled lr of every parameter with a gradient (V1 logs these)."""
        out = []
        for group in self.param_groups:
            for p in group['params']:
                if p.grad is None:
                    continue
                state = self.state[p]
                out.append(self.scheduled_lr(group, state['step']) if state else 0.0)
        return out

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        """One update of every parameter that has a gradient; see the class docstring."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group['params']:
                if p.grad is None:
                    continue
                grad = p.grad
                if grad.is_sparse:
                    raise RuntimeError('BertAdam does not support sparse gradients')
                state = self.state[p]
                if not state:
                    state['step'] = 0
                    state['next_m'] = torch.zeros_like(p)
                    state['next_v'] = torch.zeros_like(p)
                if group['max_grad_norm'] > 0:
                    # In place, so the clipped gradient is also what stays in p.grad (as in V1).
                    torch.nn.utils.clip_grad_norm_(p, group['max_grad_norm'])
                m, v = state['next_m'], state['next_v']
                m.mul_(group['b1']).add_(grad, alpha=1 - group['b1'])
                v.mul_(group['b2']).addcmul_(grad, grad, value=1 - group['b2'])
                update = m / (v.sqrt() + group['e'])
                if group['weight_decay'] > 0.0:
                    update = update + group['weight_decay'] * p
                p.add_(update, alpha=-self.scheduled_lr(group, state['step']))
                state['step'] += 1
        return loss
