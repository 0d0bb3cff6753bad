"""In-batch negative sampling for pairwise (match / non-match) losses: AsymNet, SEAM."""
from __future__ import annotations

import torch

STRATEGIES = ('hard', 'random')


@torch.no_grad()
def sample_negatives(scores: torch.Tensor, labels: torch.Tensor | None, k: int,
                     strategy: str = 'hard') -> torch.Tensor:
    """Pick ``k`` negative shop images per clip from the other pairs of the batch.

    Image ``j`` is a valid negative of clip ``i`` when ``j != i`` and (labels known) the products
    differ: a same-product image in the batch would be a false negative for a match loss.

    Args:
        scores: ``(B, B)`` current match scores, rows = clips, columns = images (used by ``hard``).
        labels: ``(B,)`` product labels, ``-1`` = unknown (then only ``j != i`` is required), or None.
        k: Negatives per clip.
        strategy: ``'hard'`` (highest current score, Video2Shop's hard mining) or ``'random'``
            (uniform among the valid ones).

    Returns:
        ``(B, k) long`` column indices, no gradient.

    Raises:
        ValueError: unknown strategy, or a clip with fewer than ``k`` valid negatives (batch too
            small or too many same-product pairs).
    """
    if strategy not in STRATEGIES:
        raise ValueError(f'negative strategy must be one of {STRATEGIES}, got {strategy!r}')
    b = scores.shape[0]
    valid = ~torch.eye(b, dtype=torch.bool, device=scores.device)
    if labels is not None:
        known = labels >= 0
        same = (labels[:, None] == labels[None, :]) & known[:, None] & known[None, :]
        valid &= ~same
    short = (valid.sum(1) < k).nonzero().flatten().tolist()
    if short:
        raise ValueError(f'clips {short} have fewer than k={k} in-batch negatives (batch size {b}); '
                         'use a larger batch or a smaller k')
    if strategy == 'hard':
        key = scores.detach().float()
    else:
        key = torch.rand(scores.shape, device=scores.device)
    key = key.masked_fill(~valid, float('-inf'))
    return key.topk(k, dim=1).indices
