"""SGMN's text-guided fusion and pairwise cross decoder (baselines.md §11.2.4–5)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from csa_bench.registry import MODELS

from .blocks import QuickGELU, ResidualAttentionBlock


@MODELS.register_module()
class SGMNTextFusion(nn.Module):
    """Post-LN cross-attention block: visual tokens (queries) attend to one text token.

    ``x = LN(x + drop(fc_o(attn(fc_q x, fc_k t, fc_v t))))``; ``x = LN(x + drop(FFN(x)))`` (ReLU).
    With a single key the softmax is 1, so the update is ``fc_o(fc_v t)`` whatever ``fc_q``/``fc_k``
    are (kept for fidelity; invariant 4). One block is shared by the image and video streams.

    Args:
        dim: Width ``D``.
        num_heads: Heads (8 in SGMN).
        ffn_dim: FFN width (1024 = 2D in SGMN).
        dropout: Dropout (0.1).
    """

    def __init__(self, dim: int = 512, num_heads: int = 8, ffn_dim: int = 1024, dropout: float = 0.1) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f'dim {dim} is not divisible by num_heads {num_heads}')
        self.num_heads = num_heads
        self.fc_q, self.fc_k, self.fc_v, self.fc_o = (nn.Linear(dim, dim) for _ in range(4))
        self.ln_1, self.ln_2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.ffn = nn.Sequential(nn.Linear(dim, ffn_dim), nn.ReLU(inplace=True), nn.Dropout(dropout),
                                 nn.Linear(ffn_dim, dim))
        self.drop = nn.Dropout(dropout)

    def forward(self, tokens: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """``tokens (B, L, D)`` and one text vector per sample ``text (B, D)`` -> ``(B, L, D)``."""
        b, length, d = tokens.shape
        h = self.num_heads
        q = self.fc_q(tokens).view(b, length, h, d // h).transpose(1, 2)          # (B, h, L, d/h)
        k = self.fc_k(text).view(b, 1, h, d // h).transpose(1, 2)                 # (B, h, 1, d/h)
        v = self.fc_v(text).view(b, 1, h, d // h).transpose(1, 2)
        attn = ((q @ k.transpose(-1, -2)) * (d // h) ** -0.5).softmax(dim=-1)     # (B, h, L, 1)
        out = (attn @ v).transpose(1, 2).reshape(b, length, d)
        x = self.ln_1(tokens + self.drop(self.fc_o(out)))
        return self.ln_2(x + self.drop(self.ffn(x)))


class CrossBlock(nn.Module):
    """Pre-LN cross-attention block; one LN shared by query and key/value; no output projection."""

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.ln_1, self.ln_2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.q, self.k, self.v = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), QuickGELU(), nn.Linear(4 * dim, dim))

    def forward(self, x: torch.Tensor, y: torch.Tensor, y_mask: torch.Tensor) -> torch.Tensor:
        """``x (n, Lq, D)`` attends to ``y (n, Lk, D)`` with ``y_mask (n, Lk)`` (True = real token)."""
        n, lq, d = x.shape
        h = self.num_heads
        xn, yn = self.ln_1(x), self.ln_1(y)
        q = self.q(xn).view(n, lq, h, d // h).transpose(1, 2)
        k = self.k(yn).view(n, -1, h, d // h).transpose(1, 2)
        v = self.v(yn).view(n, -1, h, d // h).transpose(1, 2)
        logits = (q @ k.transpose(-1, -2)) * (d // h) ** -0.5                      # (n, h, Lq, Lk)
        logits = logits + (1.0 - y_mask.to(logits.dtype))[:, None, None, :] * -1e6
        x = x + (logits.softmax(-1) @ v).transpose(1, 2).reshape(n, lq, d)
        return x + self.mlp(self.ln_2(x))


@MODELS.register_module()
class SGMNPairwiseDecoder(nn.Module):
    """Score (shop image, clip) pairs from fused tokens: 1 self block + 1 cross block + pooler.

    Query = fused image tokens + a learned position table (CLIP's text positional embedding in the
    original) with dropout; the self block, then the cross block over the clip's fused tokens
    (``T·L`` keys, padded frames' tokens masked); pooler ``LN -> token 0 -> Linear -> QuickGELU``;
    ``similarity_dense: Linear(D, 1)``. Also the ``pairwise_scorer`` (states: image
    ``{'tokens': (L, D)}``, clip ``{'tokens': (T·L, D), 'token_mask': (T·L,)}``, both fused).

    Args:
        dim: Width ``D``.
        num_heads: Heads (8).
        max_query_tokens: Size of the query position table (77 in CLIP's text tower).
        dropout: Dropout on the query embedding (0.1).
    """

    def __init__(self, dim: int = 512, num_heads: int = 8, max_query_tokens: int = 77, dropout: float = 0.1) -> None:
        super().__init__()
        self.position = nn.Parameter(torch.randn(max_query_tokens, dim) * 0.01)
        self.drop = nn.Dropout(dropout)
        self.self_block = ResidualAttentionBlock(dim, num_heads)
        self.cross_block = CrossBlock(dim, num_heads)
        self.pool_norm = nn.LayerNorm(dim)
        self.pool_fc = nn.Linear(dim, dim)
        self.act = QuickGELU()
        self.similarity_dense = nn.Linear(dim, 1)

    def forward(self, image_tokens: torch.Tensor, clip_tokens: torch.Tensor, clip_mask: torch.Tensor) -> torch.Tensor:
        """Aligned pairs ``(n, L, D)``, ``(n, T·L, D)``, ``(n, T·L)`` -> logits ``(n,)``."""
        length = image_tokens.shape[1]
        if length > self.position.shape[0]:
            raise ValueError(f'{length} image tokens exceed the decoder position table ({self.position.shape[0]})')
        x = self.drop(image_tokens + self.position[:length])
        x = self.self_block(x)
        x = self.cross_block(x, clip_tokens, clip_mask.bool())
        pooled = self.act(self.pool_fc(self.pool_norm(x)[:, 0]))
        return self.similarity_dense(pooled).squeeze(-1)

    def score_pairs(self, query_state: dict[str, torch.Tensor],
                    gallery_state: dict[str, torch.Tensor]) -> torch.Tensor:
        """Evaluator contract: clip states ``(n, …)`` x image states ``(n, …)`` -> ``(n,)`` (scale 1)."""
        return self(gallery_state['tokens'], query_state['tokens'], query_state['token_mask'])


def fuse_tokens(fusion: SGMNTextFusion, tokens: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
    """Per-token L2 normalisation, then the text-guided fusion (``tokens (B, L, D)``, ``text (B, D)``)."""
    return fusion(F.normalize(tokens, dim=-1), text)
