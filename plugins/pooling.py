"""Temporal pooling of per-frame embeddings into one clip embedding (method.md §3)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from csa_bench.registry import MODELS


@MODELS.register_module()
class MeanPooling(nn.Module):
    """Masked mean over the real frames of a clip.

    V2 (default, official MMF code): ``Σ_t m_t f_t / Σ_t m_t``; the caller L2-normalises.
    V1 / CLIP4Clip "meanP" (``norm_first=True``): each frame is L2-normalised before the mean.
    Padded frames contribute exactly nothing, whatever their values.

    Args:
        norm_first: L2-normalise each frame embedding before averaging (method.md §10
            ``pool_norm_first``).
    """

    def __init__(self, norm_first: bool = False) -> None:
        super().__init__()
        self.norm_first = norm_first

    def forward(self, frame_emb: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
        """Pool ``(B, T, E)`` frames with mask ``(B, T)`` (True = real frame) into ``(B, E)``.

        Raises:
            ValueError: shapes disagree, or a clip has no real frame.
        """
        if frame_emb.shape[:2] != frame_mask.shape:
            raise ValueError(f'frame_emb {tuple(frame_emb.shape)} and frame_mask {tuple(frame_mask.shape)} '
                             'disagree on (B, T)')
        counts = frame_mask.sum(dim=1)
        if bool((counts == 0).any()):
            raise ValueError(f'clips {(counts == 0).nonzero().flatten().tolist()} have no real frame; '
                             'the dataset must give every clip at least one frame')
        if self.norm_first:
            frame_emb = F.normalize(frame_emb, dim=-1)
        # where() rather than a multiply: a NaN/inf in a padded slot must not leak into the mean.
        masked = torch.where(frame_mask[..., None], frame_emb, frame_emb.new_zeros(()))
        return masked.sum(dim=1) / counts[:, None].to(frame_emb.dtype)

    def extra_repr(self) -> str:
        return f'norm_first={self.norm_first}'
