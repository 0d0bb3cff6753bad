"""Mixed precision: mmengine's ``AmpOptimWrapper`` on CUDA, a bf16 autocast wrapper on CPU.

The recipe trains with fp16 autocast and a dynamic loss scale (method.md §8), which is mmengine's
``AmpOptimWrapper(dtype='float16', loss_scale='dynamic')``. That wrapper asserts a GPU-like device,
so CPU runs get :class:`CPUAutocastOptimWrapper`: ``torch.autocast('cpu', dtype=torch.bfloat16)``
around the forward and the loss, no loss scaling (bf16 has fp32's exponent range, so gradients do
not underflow the way fp16 ones do). fp16 on CPU is refused rather than emulated.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from torch import nn

from csa_bench.registry import OPTIM_WRAPPERS

AMP_DTYPES = ('float16', 'bfloat16')


class PrecisionError(ValueError):
    """An AMP setting this host cannot run."""


@OPTIM_WRAPPERS.register_module()
class CPUAutocastOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose ``optim_context`` runs the forward under CPU bf16 autocast.

    mmengine's ``BaseModel.train_step`` runs the data preprocessor, the forward and the losses inside
    ``optim_context``; the backward and the step stay in fp32 (parameters are never cast).

    Args:
        dtype: Only ``'bfloat16'`` (CPU autocast has no loss scaler for fp16 here).
        **kwargs: ``OptimWrapper`` arguments (``optimizer``, ``accumulative_counts``, ``clip_grad``).
    """

    def __init__(self, dtype: str | torch.dtype = 'bfloat16', **kwargs) -> None:
        if dtype not in ('bfloat16', torch.bfloat16):
            raise PrecisionError(f'CPUAutocastOptimWrapper supports dtype bfloat16 only, got {dtype!r}; fp16 '
                                 'autocast needs CUDA (AmpOptimWrapper)')
        super().__init__(**kwargs)
        self.cast_dtype = torch.bfloat16

    @contextlib.contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        with super().optim_context(model), torch.autocast('cpu', dtype=self.cast_dtype):
            yield


def configure_amp(cfg: Config, dtype: str | None = None, cuda: bool | None = None) -> str:
    """Switch ``cfg.optim_wrapper`` to mixed precision for this host; returns the wrapper type used.

    Args:
        cfg: The run's config; ``optim_wrapper`` is edited in place.
        dtype: ``'float16'`` or ``'bfloat16'``; None keeps the config's ``optim_wrapper.dtype`` or
            uses float16 (the recipe) on CUDA. On CPU it must be bfloat16.
        cuda: Whether to target CUDA; defaults to ``torch.cuda.is_available()``.

    Raises:
        PrecisionError: an unknown dtype, fp16 without CUDA, or bf16 on a GPU without bf16.
    """
    cuda = torch.cuda.is_available() if cuda is None else cuda
    wrapper = cfg.get('optim_wrapper')
    if wrapper is None:
        raise PrecisionError('--amp needs an optim_wrapper in the config')
    chosen = dtype or wrapper.get('dtype') or ('float16' if cuda else None)
    if chosen is None:
        raise PrecisionError('this host has no CUDA: fp16 AMP is GPU-only; use --amp-dtype bfloat16 for CPU '
                             'bf16 autocast')
    if chosen not in AMP_DTYPES:
        raise PrecisionError(f'unknown AMP dtype {chosen!r}; choose one of {", ".join(AMP_DTYPES)}')
    if cuda:
        if chosen == 'bfloat16' and not torch.cuda.is_bf16_supported():
            raise PrecisionError('this GPU has no bfloat16 support; use --amp-dtype float16')
        wrapper.type = 'AmpOptimWrapper'
        wrapper.dtype = chosen
        # Dynamic loss scale for fp16 (the recipe's GradScaler); harmless for bf16.
        wrapper.setdefault('loss_scale', 'dynamic')
        return 'AmpOptimWrapper'
    if chosen != 'bfloat16':
        raise PrecisionError('this host has no CUDA: fp16 AMP is GPU-only; use --amp-dtype bfloat16 for CPU '
                             'bf16 autocast')
    wrapper.pop('loss_scale', None)
    wrapper.type = 'CPUAutocastOptimWrapper'
    wrapper.dtype = 'bfloat16'
    return 'CPUAutocastOptimWrapper'
