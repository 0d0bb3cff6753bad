"""AsymNet's training loss: binary match / non-match on in-batch pairs (Video2Shop, §5)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from csa_bench.registry import MODELS

from .mining import sample_negatives


@MODELS.register_module()
class AsymNetBCELoss(nn.Module):
    """BCE on 1 positive and ``k`` negative shop images per clip, drawn from the batch.

    Reads ``batch['step_feats'] (B, T, H)``, ``batch['frame_mask'] (B, T)``,
    ``batch['image_feat'] (B, H)``, ``batch['labels'] (B,)`` and ``batch['pair_head']`` (the
    ``AsymNetSimilarityHead``). All ``B × B`` pairs are scored once; negatives are the hardest by
    current score (default) or random, never the same product.

    Returns ``{'loss_match': (), 'match_acc': ()}``: ``match_acc`` is the fraction of sampled pairs
    classified correctly (logit sign).

    Args:
        num_negatives: ``k`` negatives per clip (3 in baselines.md §5).
        strategy: ``'hard'`` or ``'random'``.
        loss_weight: Multiplier of the loss.
    """

    def __init__(self, num_negatives: int = 3, strategy: str = 'hard', loss_weight: float = 1.0) -> None:
        super().__init__()
        self.num_negatives, self.strategy, self.loss_weight = num_negatives, strategy, loss_weight

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        """See the class docstring for the batch keys read and the dict returned."""
        head = batch['pair_head']
        scores = head.score_grid(batch['step_feats'], batch['frame_mask'], batch['image_feat'])  # (B, B)
        neg = sample_negatives(scores, batch.get('labels'), self.num_negatives, self.strategy)
        logits = torch.cat([scores.diagonal()[:, None], scores.gather(1, neg)], dim=1)  # (B, 1 + k)
        target = torch.zeros_like(logits)
        target[:, 0] = 1.0
        loss = F.binary_cross_entropy_with_logits(logits, target)
        with torch.no_grad():
            acc = ((logits > 0).float() == target).float().mean()
        return {'loss_match': self.loss_weight * loss, 'match_acc': acc}

    def extra_repr(self) -> str:
        return f'num_negatives={self.num_negatives}, strategy={self.strategy!r}, loss_weight={self.loss_weight}'
