"""SEAM-lite building blocks: the 256-d descriptor, the temporal aggregator, the matching head."""
from __future__ import annotations

import math

import torch
from torch import nn

from csa_bench.registry import MODELS


@MODELS.register_module()
class SEAMDescriptorHead(nn.Module):
    """Match R-CNN's descriptor path on a CNN feature map, without the detector (baselines.md §6).

    ``Conv3x3(C, D) -> ReLU -> GAP -> Linear(D, D) -> BN``. The original stacks four convs on
    14×14 mask-RoI features and average-pools 6×6; the lite keeps one conv on the whole-frame map.

    Args:
        in_channels: Channel count ``C`` of the trunk's last stage (the encoder's ``width``).
        dim: Descriptor size ``D`` (256 in SEAM).
    """

    def __init__(self, in_channels: int, dim: int = 256) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, dim, kernel_size=3, padding=1)
        self.fc = nn.Linear(dim, dim)
        self.bn = nn.BatchNorm1d(dim)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Feature-map tokens ``(N, h·w, C)`` (square map) -> descriptors ``(N, D)``."""
        n, length, c = tokens.shape
        side = math.isqrt(length)
        if side * side != length:
            raise ValueError(f'SEAMDescriptorHead needs a square CNN feature map; got {length} tokens')
        fmap = tokens.transpose(1, 2).reshape(n, c, side, side)
        pooled = self.conv(fmap).relu().mean(dim=(2, 3))
        return self.bn(self.fc(pooled))


@MODELS.register_module()
class SEAMTemporalAggregator(nn.Module):
    """One non-local (single-head self-attention) layer over frames, then attention pooling.

    ``x' = x + W_o softmax(q kᵀ / √D + key mask) v``, then ``a = Σ_t softmax_t(w·x'_t) x'_t`` over
    the real frames. ``W_o`` starts at zero (the non-local block's identity initialisation), so
    training starts from attention pooling of the raw descriptors.

    Args:
        dim: Descriptor size ``D``.
    """

    def __init__(self, dim: int = 256) -> None:
        super().__init__()
        self.q, self.k, self.v = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.out = nn.Linear(dim, dim)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        self.score = nn.Linear(dim, 1)
        self.scale = dim ** -0.5

    def forward(self, frames: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
        """Frames ``(B, T, D)`` with mask ``(B, T)`` (True = real) -> clip descriptor ``(B, D)``."""
        keys_off = ~frame_mask[:, None, :]  # (B, 1, T): padded frames are never attended to
        attn = (self.q(frames) @ self.k(frames).transpose(1, 2)) * self.scale
        attn = attn.masked_fill(keys_off, float('-inf')).softmax(dim=-1)
        x = frames + self.out(attn @ self.v(frames))
        weights = self.score(x).squeeze(-1).masked_fill(~frame_mask, float('-inf')).softmax(dim=1)
        return (weights[..., None] * x.masked_fill(~frame_mask[..., None], 0.0)).sum(dim=1)


@MODELS.register_module()
class SEAMMatchHead(nn.Module):
    """``Linear(D, 2)`` on ``(a − b)²``; class 1 = match. The ranking key is ``ℓ₁ − ℓ₀``.

    Decomposable (baselines.md §6): with ``Δw = w₁ − w₀`` and ``Δc = c₁ − c₀``,
    ``ℓ = Σ_j Δw_j a_j² + Σ_j Δw_j b_j² − 2 (a ⊙ Δw)·b + Δc``, so ``score_matrix`` is one matmul
    plus row and column terms and equals ``score_pairs`` on every pair.

    States: clips ``{'desc': (D,)}`` (the aggregated descriptor ``a``), images ``{'desc': (D,)}``.

    Args:
        dim: Descriptor size ``D``.
    """

    def __init__(self, dim: int = 256) -> None:
        super().__init__()
        self.dim = dim
        self.fc = nn.Linear(dim, 2)

    def logits(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Two-way logits ``(..., 2)`` of broadcastable descriptors ``a``, ``b`` ``(..., D)``."""
        return self.fc((a - b).pow(2))

    def _delta(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.fc.weight[1] - self.fc.weight[0], self.fc.bias[1] - self.fc.bias[0]

    def score_pairs(self, query_state: dict[str, torch.Tensor],
                    gallery_state: dict[str, torch.Tensor]) -> torch.Tensor:
        """Aligned pairs ``(n, D)`` x ``(n, D)`` -> logit difference ``(n,)``."""
        logits = self.logits(query_state['desc'], gallery_state['desc'])
        return logits[..., 1] - logits[..., 0]

    def score_matrix(self, query_state: dict[str, torch.Tensor],
                     gallery_state: dict[str, torch.Tensor]) -> torch.Tensor:
        """All pairs ``(Q, D)`` x ``(G, D)`` -> ``(Q, G)``, exactly ``score_pairs`` on each pair."""
        a, b = query_state['desc'], gallery_state['desc']
        dw, dc = self._delta()
        rows = (a.pow(2) * dw).sum(-1, keepdim=True)      # (Q, 1)
        cols = (b.pow(2) * dw).sum(-1)[None, :]           # (1, G)
        return rows + cols - 2.0 * (a * dw) @ b.t() + dc

    def extra_repr(self) -> str:
        return f'dim={self.dim}'
