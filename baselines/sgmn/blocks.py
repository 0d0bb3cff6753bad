"""Transformer blocks of SGMN: CLIP-style residual blocks with a per-sample additive key mask."""
from __future__ import annotations

import torch
from torch import nn


class QuickGELU(nn.Module):
    """CLIP's activation ``x·σ(1.702x)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


def expand_key_mask(key_mask: torch.Tensor, num_queries: int, num_heads: int, mask_repeat: bool) -> torch.Tensor:
    """Additive attention mask ``(B·heads, Lq, Lk)`` from a key mask ``(B, Lk)`` (True = attend).

    ``nn.MultiheadAttention`` reads a 3-D mask batch-major (row ``b·heads + h``). The released SGMN
    tiles with ``repeat(heads)`` (row ``h·B + b``), i.e. sample ``b`` gets the mask of sample
    ``(b·heads + h) mod B`` (``mask_repeat=True``, the CLIP4Clip bug fixed in its PR #24);
    ``mask_repeat=False`` tiles correctly with ``repeat_interleave``. Masked keys get −1e6 as in
    the released code (a finite value: a fully masked row stays finite).
    """
    add = (1.0 - key_mask.float())[:, None, :] * -1e6            # (B, 1, Lk)
    add = add.expand(-1, num_queries, -1)                          # (B, Lq, Lk)
    return add.repeat(num_heads, 1, 1) if mask_repeat else add.repeat_interleave(num_heads, dim=0)


class ResidualAttentionBlock(nn.Module):
    """Pre-LN self-attention block (CLIP's ``ResidualAttentionBlock``, QuickGELU MLP ``4·D``).

    Args:
        dim: Width ``D``.
        num_heads: Attention heads.
        mask_repeat: Tile the key mask as the released code does (see ``expand_key_mask``).
    """

    def __init__(self, dim: int, num_heads: int, mask_repeat: bool = False) -> None:
        super().__init__()
        self.num_heads, self.mask_repeat = num_heads, mask_repeat
        self.attn = nn.MultiheadAttention(dim, num_heads, batch_first=True)
        self.ln_1, self.ln_2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), QuickGELU(), nn.Linear(4 * dim, dim))

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor | None = None) -> torch.Tensor:
        """``x (B, L, D)``, ``key_mask (B, L)`` bool (True = attend) -> ``(B, L, D)``."""
        mask = None
        if key_mask is not None:
            mask = expand_key_mask(key_mask, x.shape[1], self.num_heads, self.mask_repeat).to(x.dtype)
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False, attn_mask=mask)[0]
        return x + self.mlp(self.ln_2(x))
