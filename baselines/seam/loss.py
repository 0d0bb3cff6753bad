"""SEAM-lite training loss: class-balanced 2-way CE on in-batch match / non-match pairs."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from baselines.asymnet.mining import sample_negatives
from csa_bench.registry import MODELS


@MODELS.register_module()
class SEAMMatchLoss(nn.Module):
    """2-way CE on 1 positive and ``k`` negatives per clip (baselines.md §6).

    Stand-in for SEAM's weakly supervised ``MatchLossWeak`` (every non-matching pair in the batch is
    a negative): with whole frames there is no per-detection choice, so each clip's positive is its
    shop image and ``k`` other products' images are its negatives. The classes are balanced by
    weighting the match class ``k`` times (``cross_entropy(weight=[1, k])``).

    Reads ``batch['clip_desc'] (B, D)``, ``batch['image_desc'] (B, D)``, ``batch['labels']`` and
    ``batch['pair_head']`` (``SEAMMatchHead``). Returns ``{'loss_match': (), 'match_acc': ()}``.

    Args:
        num_negatives: ``k`` (3).
        strategy: ``'random'`` (default: SEAM uses every in-batch negative, a uniform sample keeps
            that expectation) or ``'hard'``.
        loss_weight: Multiplier of the loss.
    """

    def __init__(self, num_negatives: int = 3, strategy: str = 'random', loss_weight: float = 1.0) -> None:
        super().__init__()
        self.num_negatives, self.strategy, self.loss_weight = num_negatives, strategy, loss_weight

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        """See the class docstring for the batch keys read and the dict returned."""
        head, a, b = batch['pair_head'], batch['clip_desc'], batch['image_desc']
        with torch.no_grad():
            scores = head.score_matrix({'desc': a}, {'desc': b})
        neg = sample_negatives(scores, batch.get('labels'), self.num_negatives, self.strategy)
        cols = torch.cat([torch.arange(a.shape[0], device=a.device)[:, None], neg], dim=1)  # (B, 1 + k)
        logits = head.logits(a[:, None, :], b[cols])                                       # (B, 1 + k, 2)
        target = torch.zeros(cols.shape, dtype=torch.long, device=a.device)
        target[:, 0] = 1
        weight = torch.tensor([1.0, float(self.num_negatives)], device=a.device)
        loss = F.cross_entropy(logits.flatten(0, 1), target.flatten(), weight=weight)
        with torch.no_grad():
            acc = (logits.argmax(-1) == target).float().mean()
        return {'loss_match': self.loss_weight * loss, 'match_acc': acc}

    def extra_repr(self) -> str:
        return f'num_negatives={self.num_negatives}, strategy={self.strategy!r}, loss_weight={self.loss_weight}'
