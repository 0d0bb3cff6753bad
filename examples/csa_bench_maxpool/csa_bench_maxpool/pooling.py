"""``MaskedMaxPooling``: the element-wise maximum over a clip's real frames."""
from __future__ import annotations

import torch
from torch import nn

from csa_bench.registry import MODELS


@MODELS.register_module()
class MaskedMaxPooling(nn.Module):
    """Max over the real frames of each clip, per embedding dimension.

    Same interface as the core's ``MeanPooling``: ``forward(frame_emb (B, T, E), frame_mask (B, T))``
    -> ``(B, E)``, True = real frame. Padded frames never win, whatever their values.
    """

    def forward(self, frame_emb: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
        """Pool ``(B, T, E)`` frames with mask ``(B, T)`` into ``(B, E)``.

        Raises:
            ValueError: shapes disagree, or a clip has no real frame.
        """
        if frame_emb.shape[:2] != frame_mask.shape:
            raise ValueError(f'frame_emb {tuple(frame_emb.shape)} and frame_mask {tuple(frame_mask.shape)} '
                             'disagree on (B, T)')
        empty = ~frame_mask.any(dim=1)
        if bool(empty.any()):
            raise ValueError(f'clips {empty.nonzero().flatten().tolist()} have no real frame')
        lowest = torch.finfo(frame_emb.dtype).min
        return torch.where(frame_mask[..., None], frame_emb, frame_emb.new_full((), lowest)).amax(dim=1)
