"""The PMD pairwise matching decoder: one self block + one cross block + pooler + cosine score.

Shapes follow method.md §5: a query of ``n`` image token sequences ``(n, L, W)`` attends to the
tokens of all frames of ``n`` clips ``(n, T·L, W)``; padded frames' keys are masked. Parameter
names of the two blocks match CLIP's ``resblocks.*`` (``ln_1``, ``attn.in_proj_weight``,
``attn.out_proj``, ``ln_2``, ``mlp.c_fc``, ``mlp.c_proj``) so CLIP blocks load strictly.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class QuickGELU(nn.Module):
    """CLIP's activation ``x·σ(1.702x)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


class ClipMLP(nn.Sequential):
    """``c_fc (W→4W) → QuickGELU → c_proj (4W→W)``, CLIP's names."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.c_fc = nn.Linear(width, 4 * width)
        self.gelu = QuickGELU()
        self.c_proj = nn.Linear(4 * width, width)


class SelfBlock(nn.Module):
    """Pre-LN self-attention block over the image tokens; TF-style LN eps 1e-12, no dropout."""

    def __init__(self, width: int, num_heads: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(width, eps=1e-12)
        self.attn = nn.MultiheadAttention(width, num_heads, batch_first=True)
        self.ln_2 = nn.LayerNorm(width, eps=1e-12)
        self.mlp = ClipMLP(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(n, L, W) -> (n, L, W)``."""
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class CrossAttention(nn.Module):
    """Multi-head cross-attention with CLIP's packed in-projection; also returns ``A' = sqrt(d_h)·A``.

    Args:
        width: Model width W.
        num_heads: h (must divide W).
        attn_drop: Dropout on the attention probabilities (0.1 in V2), applied after ``A'`` is taken.
    """

    def __init__(self, width: int, num_heads: int, attn_drop: float = 0.1) -> None:
        super().__init__()
        if width % num_heads:
            raise ValueError(f'PMD num_heads={num_heads} must divide the token width {width}')
        self.num_heads, self.head_dim = num_heads, width // num_heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * width, width))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * width))
        self.out_proj = nn.Linear(width, width)
        self.attn_drop = nn.Dropout(attn_drop)

    def forward(self, query: torch.Tensor, kv: torch.Tensor,
                key_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Attend ``query (n, Lq, W)`` to ``kv (n, Lk, W)`` with ``key_mask (n, Lk)`` (True = real).

        Returns:
            ``(out (n, Lq, W), maps (n, h, Lq, Lk))``, ``maps = sqrt(d_h)·softmax`` before dropout.
        """
        n, lq, width = query.shape
        w_q, w_k, w_v = self.in_proj_weight.chunk(3)
        b_q, b_k, b_v = self.in_proj_bias.chunk(3)
        q = F.linear(query, w_q, b_q).view(n, lq, self.num_heads, self.head_dim).transpose(1, 2)
        k = F.linear(kv, w_k, b_k).view(n, -1, self.num_heads, self.head_dim).transpose(1, 2)
        v = F.linear(kv, w_v, b_v).view(n, -1, self.num_heads, self.head_dim).transpose(1, 2)
        logits = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim)  # (n, h, Lq, Lk)
        # dtype.min on padded frames' keys (V2); a fill, not an add, so fp16 cannot overflow to -inf.
        logits = logits.masked_fill(~key_mask[:, None, None, :], torch.finfo(logits.dtype).min)
        probs = logits.softmax(dim=-1)
        out = (self.attn_drop(probs) @ v).transpose(1, 2).reshape(n, lq, width)
        return self.out_proj(out), probs * math.sqrt(self.head_dim)


class CrossBlock(nn.Module):
    """Pre-LN cross block: ``Q = ln_1(x)``, K/V = raw video tokens (no LN unless ``kv_norm``)."""

    def __init__(self, width: int, num_heads: int, attn_drop: float = 0.1, kv_norm: bool = False) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(width, eps=1e-5)
        self.attn = CrossAttention(width, num_heads, attn_drop)
        self.ln_2 = nn.LayerNorm(width, eps=1e-5)
        self.mlp = ClipMLP(width)
        self.kv_norm = kv_norm

    def forward(self, x: torch.Tensor, kv: torch.Tensor,
                key_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x (n, L, W)``, ``kv (n, Lk, W)``, ``key_mask (n, Lk)`` -> ``(x (n, L, W), maps (n, h, L, Lk))``."""
        out, maps = self.attn(self.ln_1(x), self.ln_1(kv) if self.kv_norm else kv, key_mask)
        x = x + out
        return x + self.mlp(self.ln_2(x)), maps


class PairwiseDecoder(nn.Module):
    """Score (shop image, clip) pairs: ``s = scale·cos(ReLU(W_p·LN(x4)[:, 0]), w)`` (method.md §5).

    Args:
        width: Token width W (768 for ViT-B/32 hidden tokens).
        num_heads: h for both blocks (8 in V2, 12 matches CLIP's pretrained heads, §11.4).
        attn_drop: Cross-attention probability dropout (0.1).
        score_scale: Multiplier of the cosine (10).
        kv_norm: V1 option: normalise keys/values with the query's LN.
        pooler_eps: eps of the pooler LayerNorm: 1e-5, the official V2 ``CrossPooler``'s
            ``nn.LayerNorm(eps=config.layer_norm_eps)`` with the default config value.
    """

    def __init__(self, width: int, num_heads: int = 8, attn_drop: float = 0.1, score_scale: float = 10.0,
                 kv_norm: bool = False, pooler_eps: float = 1e-5) -> None:
        super().__init__()
        if width % num_heads:
            raise ValueError(f'PMD num_heads={num_heads} must divide the token width {width}')
        self.width, self.num_heads, self.score_scale = width, num_heads, score_scale
        self.self_block = SelfBlock(width, num_heads)
        self.cross_block = CrossBlock(width, num_heads, attn_drop, kv_norm)
        self.pooler_norm = nn.LayerNorm(width, eps=pooler_eps)
        self.pooler = nn.Linear(width, width, bias=False)
        self._init_weights()
        # w: PyTorch default init (method.md §5), created after the N(0, 0.02) pass on purpose.
        self.score_head = nn.Linear(width, 1, bias=False)

    def _init_weights(self) -> None:
        """Every Linear (and packed in-projection) N(0, 0.02) with zero bias; LN ones/zeros."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, std=0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, (nn.MultiheadAttention, CrossAttention)):
                nn.init.normal_(module.in_proj_weight, std=0.02)
                nn.init.zeros_(module.in_proj_bias)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def load_clip_blocks(self, self_state: dict[str, torch.Tensor], cross_state: dict[str, torch.Tensor]) -> None:
        """Load the two blocks strictly from CLIP ``resblocks`` state dicts (OpenAI names)."""
        self.self_block.load_state_dict(self_state, strict=True)
        self.cross_block.load_state_dict(cross_state, strict=True)

    def forward(self, image_tokens: torch.Tensor, video_tokens: torch.Tensor,
                key_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Score ``n`` pairs.

        Args:
            image_tokens: ``(n, L, W)``, the query (image CLS at 0, no extra position embedding).
            video_tokens: ``(n, T·L, W)``, all frames' tokens flattened.
            key_mask: ``(n, T·L)`` bool, False on every token of a padded frame.

        Returns:
            ``(scores (n,), maps (n, h, L, T·L))``: the cross block's ``A'`` (before dropout).
        """
        x = self.self_block(image_tokens)
        x, maps = self.cross_block(x, video_tokens, key_mask)
        pooled = F.relu(self.pooler(self.pooler_norm(x)[:, 0]))
        cos = F.normalize(pooled, dim=-1) @ F.normalize(self.score_head.weight, dim=-1).t()
        return self.score_scale * cos.squeeze(-1), maps
