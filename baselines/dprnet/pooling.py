"""Key-frame picking as pooling: learned per-frame quality, top-k real frames, softmax(q) weights."""
from __future__ import annotations

import torch
from torch import nn

from csa_bench.registry import MODELS


@MODELS.register_module()
class TopKQualityPooling(nn.Module):
    """Pool a clip from its ``k`` best frames by a learned quality score.

    ``q_t = Linear(E -> 1)(f_t)`` for every real frame; the ``min(k, #real)`` frames with the highest
    ``q`` are kept and averaged with weights ``softmax(q)`` over the kept frames. The selection is
    discrete, the weights are differentiable: the quality head learns through the weighting.

    Args:
        in_dim: E, the frame embedding size.
        k: Frames kept (3, baselines.md §10).
    """

    def __init__(self, in_dim: int, k: int = 3) -> None:
        super().__init__()
        if k < 1:
            raise ValueError(f'TopKQualityPooling needs k >= 1, got {k}')
        self.quality = nn.Linear(in_dim, 1)
        self.k = k

    def scores(self, frame_emb: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
        """Quality ``(B, T)``; ``-inf`` at padded frames."""
        q = self.quality(frame_emb).squeeze(-1)
        return q.masked_fill(~frame_mask, float('-inf'))

    def forward(self, frame_emb: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
        """Pool ``(B, T, E)`` frames with mask ``(B, T)`` into ``(B, E)`` (not normalised).

        Raises:
            ValueError: shapes disagree, or a clip has no real frame.
        """
        if frame_emb.shape[:2] != frame_mask.shape:
            raise ValueError(f'frame_emb {tuple(frame_emb.shape)} and frame_mask {tuple(frame_mask.shape)} '
                             'disagree on (B, T)')
        if bool((frame_mask.sum(1) == 0).any()):
            raise ValueError('TopKQualityPooling: a clip has no real frame; every clip needs at least one')
        q = self.scores(frame_emb, frame_mask)
        k = min(self.k, frame_mask.shape[1])
        top_q, top_idx = q.topk(k, dim=1)                       # padded frames (-inf) sort last
        # A clip with fewer than k real frames keeps all of them: its -inf entries get weight 0.
        weights = top_q.softmax(dim=1)                           # (B, k)
        picked = frame_emb.gather(1, top_idx[..., None].expand(-1, -1, frame_emb.shape[-1]))
        # where(): a padded frame's value (zero, or NaN from a broken input) never reaches the sum.
        picked = torch.where(torch.isfinite(top_q)[..., None], picked, picked.new_zeros(()))
        return (weights[..., None] * picked).sum(1)

    def extra_repr(self) -> str:
        return f'in_dim={self.quality.in_features}, k={self.k}'
