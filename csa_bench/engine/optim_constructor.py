"""Name-rule parameter groups for the RICE recipe (method.md §8).

mmengine's ``custom_keys`` stop at the first matching key, so they cannot say "x100 lr *and* no
decay for biases"; ``bias_decay_mult`` misses ``in_proj_bias``. This constructor applies two
independent substring rules to every trainable parameter name:

- lr: ``base_lr * lr_mult`` when the name contains any of ``lr_mult_keys``, else ``base_lr``;
- weight decay: 0 when the name contains any of ``no_decay_keys`` (default ``bias``, which
  includes ``in_proj_bias``), else the optimizer's ``weight_decay``.

Parameters with the same (lr, decay) share one group; each group lists its parameter names under
``param_names`` (for logs and tests).
"""
from __future__ import annotations

from mmengine.optim import DefaultOptimWrapperConstructor
from torch import nn

from csa_bench.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class NameRuleOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """``paramwise_cfg = dict(lr_mult_keys=[...], lr_mult=100., no_decay_keys=['bias'])``.

    Frozen parameters (``requires_grad=False``) are left out of the optimizer.
    """

    def _validate_cfg(self) -> None:
        known = {'lr_mult_keys', 'lr_mult', 'no_decay_keys'}
        unknown = set(self.paramwise_cfg) - known
        if unknown:
            raise KeyError(f'NameRuleOptimWrapperConstructor: unknown paramwise_cfg keys {sorted(unknown)}; '
                           f'known: {sorted(known)}')
        if self.base_lr is None or self.base_wd is None:
            raise KeyError('NameRuleOptimWrapperConstructor needs optimizer.lr and optimizer.weight_decay')

    def add_params(self, params: list[dict], module: nn.Module, prefix: str = '', **kwargs) -> None:
        """Append one group per distinct (lr, weight decay) to ``params``."""
        lr_keys = tuple(self.paramwise_cfg.get('lr_mult_keys', ()))
        lr_mult = float(self.paramwise_cfg.get('lr_mult', 1.0))
        no_decay = tuple(self.paramwise_cfg.get('no_decay_keys', ('bias',)))
        groups: dict[tuple[float, float], dict] = {}
        for name, param in module.named_parameters(prefix=prefix.rstrip('.')):
            if not param.requires_grad:
                continue
            lr = self.base_lr * (lr_mult if any(k in name for k in lr_keys) else 1.0)
            wd = 0.0 if any(k in name for k in no_decay) else self.base_wd
            group = groups.setdefault((lr, wd), dict(params=[], param_names=[], lr=lr, weight_decay=wd))
            group['params'].append(param)
            group['param_names'].append(name)
        params.extend(groups.values())
