"""AsymNet's similarity network: per-step match logits fused into one score (Video2Shop, §5)."""
from __future__ import annotations

import torch
from torch import nn

from csa_bench.registry import MODELS

FUSIONS = ('gate', 'max')


@MODELS.register_module()
class AsymNetSimilarityHead(nn.Module):
    """Score (clip, shop image) pairs from LSTM steps ``h`` and an image feature ``f``.

    Per step ``z_t = MLP([h_t ⊙ f, |h_t − f|])`` (``2H → mlp_dim → ReLU → 1``); the steps are fused
    by the gated mixture ``s = Σ_t softmax_t(a·h_t) z_t`` over the valid steps (the lite stand-in for
    Video2Shop's reconfigurable deep tree of gated fusion nodes), or by ``max_t z_t``.

    This is also the model's ``pairwise_scorer``: states are precomputed per clip
    (``{'steps': (T, H), 'frame_mask': (T,)}``) and per image (``{'feat': (H,)}``), so scoring runs
    only this small MLP.

    Args:
        dim: LSTM hidden size ``H`` (= image feature size).
        mlp_dim: Hidden width of the similarity MLP (256 in baselines.md §5).
        fusion: ``'gate'`` (default) or ``'max'``.
    """

    def __init__(self, dim: int = 512, mlp_dim: int = 256, fusion: str = 'gate') -> None:
        super().__init__()
        if fusion not in FUSIONS:
            raise ValueError(f'fusion must be one of {FUSIONS}, got {fusion!r}')
        self.dim, self.fusion = dim, fusion
        self.mlp = nn.Sequential(nn.Linear(2 * dim, mlp_dim), nn.ReLU(inplace=True), nn.Linear(mlp_dim, 1))
        # a·h_t: a bias would cancel in the softmax over steps.
        self.gate = nn.Linear(dim, 1, bias=False)

    def step_logits(self, steps: torch.Tensor, feat: torch.Tensor) -> torch.Tensor:
        """Per-step logits ``(n, T)`` from ``steps (n, T, H)`` and aligned ``feat (n, H)``."""
        f = feat[:, None, :].expand_as(steps)
        return self.mlp(torch.cat([steps * f, (steps - f).abs()], dim=-1)).squeeze(-1)

    def fuse(self, z: torch.Tensor, steps: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
        """Fuse step logits ``z (n, T)`` over the valid steps of ``frame_mask (n, T)`` into ``(n,)``."""
        if self.fusion == 'max':
            return z.masked_fill(~frame_mask, float('-inf')).amax(dim=1)
        gate = self.gate(steps).squeeze(-1).masked_fill(~frame_mask, float('-inf')).softmax(dim=1)
        return (gate * z.masked_fill(~frame_mask, 0.0)).sum(dim=1)

    def score_pairs(self, query_state: dict[str, torch.Tensor],
                    gallery_state: dict[str, torch.Tensor]) -> torch.Tensor:
        """Aligned pairs: ``steps (n, T, H)``, ``frame_mask (n, T)`` vs ``feat (n, H)`` -> ``(n,)``."""
        steps, mask, feat = query_state['steps'], query_state['frame_mask'].bool(), gallery_state['feat']
        if steps.shape[0] != feat.shape[0]:
            raise ValueError(f'score_pairs needs aligned pairs: {steps.shape[0]} clips vs {feat.shape[0]} images')
        return self.fuse(self.step_logits(steps, feat), steps, mask)

    def score_grid(self, steps: torch.Tensor, frame_mask: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
        """All pairs: clips ``steps (B, T, H)`` x images ``feats (G, H)`` -> ``(B, G)``."""
        b, g = steps.shape[0], feats.shape[0]
        q = {'steps': steps.repeat_interleave(g, 0), 'frame_mask': frame_mask.repeat_interleave(g, 0)}
        return self.score_pairs(q, {'feat': feats.repeat(b, 1)}).view(b, g)

    def extra_repr(self) -> str:
        return f'dim={self.dim}, fusion={self.fusion!r}'
