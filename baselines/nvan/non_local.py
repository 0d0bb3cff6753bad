"""Embedded-Gaussian non-local block over (T, h, w) with padded-frame keys masked."""
from __future__ import annotations

import torch
from torch import nn


class MaskedNonLocalBlock(nn.Module):
    """Wang et al.'s embedded-Gaussian non-local block (CVPR 2018) over a clip's feature volume.

    ``y_i = x_i + W · Σ_j softmax_j(θ(x_i)·φ(x_j)) g(x_j)`` over all positions ``j`` of all real
    frames of the clip. θ, φ, g are 1×1×1 convolutions to ``C/2`` channels (Linears on tokens);
    ``W`` projects back to ``C`` and is zero-initialised, so the block is the identity at init.
    The softmax is unscaled, as in the original.

    Args:
        channels: C.
        inter_channels: Width of θ/φ/g (default ``C // 2``, the original's bottleneck).
    """

    def __init__(self, channels: int, inter_channels: int | None = None) -> None:
        super().__init__()
        inter = inter_channels or max(channels // 2, 1)
        self.theta = nn.Linear(channels, inter)
        self.phi = nn.Linear(channels, inter)
        self.g = nn.Linear(channels, inter)
        self.out = nn.Linear(inter, channels)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        self.channels, self.inter_channels = channels, inter

    def forward(self, x: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
        """Attend over ``x (B, T, C, h, w)`` with ``frame_mask (B, T)``; returns the same shape.

        Keys (and values) of padded frames are excluded; their queries are computed but their
        outputs carry no information into real frames.
        """
        b, t, c, h, w = x.shape
        tokens = x.permute(0, 1, 3, 4, 2).reshape(b, t * h * w, c)            # (B, THW, C)
        logits = self.theta(tokens) @ self.phi(tokens).transpose(1, 2)          # (B, THW, THW)
        key_valid = frame_mask[:, :, None].expand(b, t, h * w).reshape(b, 1, t * h * w)
        logits = logits.masked_fill(~key_valid, float('-inf'))
        y = self.out(logits.softmax(dim=-1) @ self.g(tokens))                    # (B, THW, C)
        return x + y.view(b, t, h, w, c).permute(0, 1, 4, 2, 3)

    def extra_repr(self) -> str:
        return f'channels={self.channels}, inter_channels={self.inter_channels}'
