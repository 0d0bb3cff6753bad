"""SGMN's distance-weighted triplet loss (HREM ``TripletLoss``; Wu et al., *Sampling Matters*, ICCV 2017)."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def _one_direction(sim: torch.Tensor, margin: float, cutoff: float, nonzero_cutoff: float, dim: int) -> torch.Tensor:
    """Rows are anchors, the diagonal the positives; one negative per anchor drawn by distance weight."""
    b = sim.shape[0]
    neg = ~torch.eye(b, dtype=torch.bool, device=sim.device)
    with torch.no_grad():
        # clamp: 2 − 2s can dip below 0 in float for s = 1 (+eps); the released code gets NaN there,
        # which the clamp(min=cutoff) below then replaces, so the result is the same.
        dist = (2 - 2 * sim.detach()).clamp(min=0).sqrt().clamp(min=cutoff)
        log_w = (2.0 - dim) * dist.log() - ((dim - 3.0) / 2.0) * (1.0 - 0.25 * dist * dist).log()
        bad = torch.isinf(log_w) | torch.isnan(log_w)
        log_w = (log_w * neg).masked_fill(bad, 0.0)
        weight = (log_w - log_w.max(dim=1, keepdim=True).values).exp()
        weight = weight * (neg & (dist < nonzero_cutoff)).float()
        weight = weight / (weight.sum(dim=1, keepdim=True) + 1e-20)
        if bool((weight.sum(dim=1) <= 0).any()):
            # torch.multinomial refuses an all-zero row; the released code then returns 0.
            return sim.new_zeros(()) * sim.sum()
        neg_idx = torch.multinomial(weight, 1).squeeze(1)
    rows = torch.arange(b, device=sim.device)
    return F.relu(margin + sim[rows, neg_idx] - sim[rows, rows]).sum()


def weighted_triplet_loss(x: torch.Tensor, y: torch.Tensor, margin: float = 0.2, cutoff: float = 0.5,
                          nonzero_cutoff: float = 1.7, dim: int | None = None) -> torch.Tensor:
    """Distance-weighted triplet loss in both directions, **summed** (it grows with ``B``).

    ``S = x yᵀ`` on unit vectors; positives are the diagonal (``img_ids = arange``: same-product
    duplicates count as negatives, as released). ``d = √(2 − 2S)`` clamped to ``≥ cutoff``;
    ``log w = (2 − dim)·log d − (dim − 3)/2 · log(1 − d²/4)``, zero for non-negatives and
    ``d ≥ nonzero_cutoff``; one negative per anchor is sampled with ``multinomial``; loss =
    ``Σ relu(margin + S_an − S_ap)`` over rows plus the same over columns. A direction in which some
    anchor has no eligible negative contributes 0 (the released ``try/except``).

    Args:
        x: ``(B, D)`` unit vectors (anchors of the row direction).
        y: ``(B, D)`` unit vectors.
        margin: 0.2.
        cutoff: Distance clamp 0.5.
        nonzero_cutoff: 1.7.
        dim: The ``dim`` of the weight formula; the released code hard-codes 512 (quirk
            ``triplet_dim512``); None uses ``D``.
    """
    sim = x @ y.t()
    d = x.shape[1] if dim is None else dim
    return (_one_direction(sim, margin, cutoff, nonzero_cutoff, d)
            + _one_direction(sim.t(), margin, cutoff, nonzero_cutoff, d))
