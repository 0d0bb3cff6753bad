"""Differentiable all-gather for losses over the global batch (ICL, PMD mining, baselines).

``torch.distributed.all_gather`` cuts the graph; the official RICE code (method.md §4) gathers with
an autograd function whose backward **all-reduces (sum)** the incoming gradient and returns this
rank's slice. Combined with DDP's gradient averaging, ``W`` processes with batch ``B`` then train
exactly like one process with batch ``W·B`` (tested in ``tests/csa/test_ddp_equivalence.py``).

Every function here is a no-op on a single process (or when ``torch.distributed`` is not
initialised), so losses can call them unconditionally once the caller opted in (style rule 7:
the gather itself is an explicit flag of the loss).
"""
from __future__ import annotations

import torch
import torch.distributed as dist


def world_info() -> tuple[int, int]:
    """``(rank, world_size)``; ``(0, 1)`` when not running distributed."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class _AllGatherGrad(torch.autograd.Function):
    """Gather ``(B, ...)`` from every rank into ``(W·B, ...)``, keeping the graph."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:
        rank, world = world_info()
        ctx.rank, ctx.batch = rank, tensor.shape[0]
        parts = [torch.empty_like(tensor) for _ in range(world)]
        dist.all_gather(parts, tensor.contiguous())
        return torch.cat(parts, dim=0)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        # Every rank's loss depends on every rank's slice: sum the gradients of all ranks, then
        # keep the rows that belong to this rank's input.
        grad = grad.contiguous()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad[ctx.rank * ctx.batch:(ctx.rank + 1) * ctx.batch]


def all_gather_with_grad(tensor: torch.Tensor) -> torch.Tensor:
    """All-gather along dim 0 with gradients flowing back to every rank's input.

    Args:
        tensor: ``(B, ...)``, the same shape on every rank (``drop_last=True`` batches).

    Returns:
        ``(W·B, ...)``, rank ``r``'s rows at ``[r·B, (r+1)·B)``; ``tensor`` itself when ``W = 1``.
    """
    _, world = world_info()
    if world == 1:
        return tensor
    return _AllGatherGrad.apply(tensor)


@torch.no_grad()
def all_gather_no_grad(tensor: torch.Tensor) -> torch.Tensor:
    """All-gather along dim 0 without a graph (labels, ids, masks); ``tensor`` when ``W = 1``."""
    _, world = world_info()
    if world == 1:
        return tensor
    parts = [torch.empty_like(tensor) for _ in range(world)]
    dist.all_gather(parts, tensor.contiguous())
    return torch.cat(parts, dim=0)
