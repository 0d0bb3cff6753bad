"""Batch-hard triplet and category cross-entropy: the metric losses of FashionNet, NVAN and DPRNet.

Both read the retriever's batch dict (``csa_bench.models.retriever.VideoShopRetriever``) and
return ``dict[str, Tensor]`` with ``loss_*`` keys (summed by mmengine) plus diagnostics.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from csa_bench.registry import MODELS
from plugins.csa.icl import same_item_ids


def batch_hard_triplet(anchors: torch.Tensor, candidates: torch.Tensor, anchor_ids: torch.Tensor,
                       candidate_ids: torch.Tensor, margin: float,
                       exclude_self: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Hermans et al. batch-hard triplet loss of every anchor against a candidate set.

    For each anchor, the positive is the *farthest* candidate with the same id and the negative the
    *closest* candidate with another id (Euclidean distance).

    Args:
        anchors: ``(A, E)`` embeddings.
        candidates: ``(C, E)`` embeddings.
        anchor_ids: ``(A,)`` product ids.
        candidate_ids: ``(C,)`` product ids.
        margin: Hinge margin.
        exclude_self: Anchors and candidates are the same set: candidate ``i`` is not a positive of
            anchor ``i``.

    Returns:
        ``(loss (), active (A,) bool)``: the mean hinge over anchors that have both a positive and a
        negative, and which anchors violate the margin. With no usable anchor the loss is
        ``0 * anchors.sum()`` (zero, still attached to the graph so DDP sees every parameter).
    """
    dist = torch.cdist(anchors, candidates)                                  # (A, C)
    same = anchor_ids[:, None] == candidate_ids[None, :]
    if exclude_self:
        same = same & ~torch.eye(*same.shape, dtype=torch.bool, device=same.device)
        other = (anchor_ids[:, None] != candidate_ids[None, :])
    else:
        other = ~same
    hardest_pos = dist.masked_fill(~same, float('-inf')).amax(dim=1)
    hardest_neg = dist.masked_fill(~other, float('inf')).amin(dim=1)
    usable = same.any(dim=1) & other.any(dim=1)
    if not bool(usable.any()):
        return anchors.sum() * 0.0, torch.zeros_like(usable)
    hinge = F.relu(hardest_pos[usable] - hardest_neg[usable] + margin)
    active = torch.zeros_like(usable)
    active[usable] = hinge > 0
    return hinge.mean(), active


@MODELS.register_module()
class BatchHardTripletLoss(nn.Module):
    """Batch-hard triplet loss (margin 0.3) between clips and shop images with the same product.

    Labels are ``batch['labels']`` (the product label) or, when some are unknown (-1), the hashed
    ``item_id`` of each data sample (``plugins.csa.icl.same_item_ids``): every clip and its shop
    image always share an id, so every anchor has a positive.

    ``mode='cross'`` (default, FashionNet's consumer-to-shop triplets): clip anchors against the
    shop images and image anchors against the clips, averaged. ``mode='joint'`` (re-ID style, NVAN):
    all ``2B`` embeddings are anchors and candidates of one another.

    Reads ``batch[video_key]``, ``batch[image_key]`` (``(B, E)``), ``batch['labels']``,
    ``batch['data_samples']``. Returns ``{'loss_triplet': (), 'triplet_active': ()}``; the latter is
    the fraction of anchors that still violate the margin.

    Args:
        margin: Hinge margin (0.3, baselines.md §2).
        mode: ``'cross'`` or ``'joint'``.
        loss_weight: Multiplier of the loss.
        video_key: Batch key of the clip embeddings.
        image_key: Batch key of the shop-image embeddings.
    """

    def __init__(self, margin: float = 0.3, mode: str = 'cross', loss_weight: float = 1.0,
                 video_key: str = 'video_emb', image_key: str = 'image_emb') -> None:
        super().__init__()
        if mode not in ('cross', 'joint'):
            raise ValueError(f"BatchHardTripletLoss mode must be 'cross' or 'joint', got {mode!r}")
        if margin < 0:
            raise ValueError(f'BatchHardTripletLoss margin must be >= 0, got {margin}')
        self.margin, self.mode, self.loss_weight = margin, mode, loss_weight
        self.video_key, self.image_key = video_key, image_key

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        """See the class docstring for the batch keys read and the dict returned."""
        v, u = batch[self.video_key], batch[self.image_key]
        if v.shape != u.shape or v.dim() != 2:
            raise ValueError(f'BatchHardTripletLoss needs {self.video_key} and {self.image_key} of equal '
                             f'shape (B, E); got {tuple(v.shape)} and {tuple(u.shape)}')
        ids = same_item_ids(batch)
        if self.mode == 'cross':
            loss_v, act_v = batch_hard_triplet(v, u, ids, ids, self.margin)
            loss_u, act_u = batch_hard_triplet(u, v, ids, ids, self.margin)
            loss, active = 0.5 * (loss_v + loss_u), torch.cat([act_v, act_u])
        else:
            both, both_ids = torch.cat([v, u]), torch.cat([ids, ids])
            loss, active = batch_hard_triplet(both, both, both_ids, both_ids, self.margin, exclude_self=True)
        return {'loss_triplet': self.loss_weight * loss, 'triplet_active': active.float().mean()}

    def extra_repr(self) -> str:
        return f'margin={self.margin}, mode={self.mode!r}, loss_weight={self.loss_weight}'


@MODELS.register_module()
class CategoryCELoss(nn.Module):
    """Cross-entropy of a linear classifier over category (or product) ids, on both views.

    The classifier is shared by clips and shop images: each ``batch[key]`` (``(B, E)``) in ``keys``
    is classified against ``batch[label_key]`` (``(B,)`` long), and the per-view losses are averaged.
    Labels ``-1`` (unknown) are ignored; a batch without any known label gives a zero loss that
    stays attached to the graph. A label ``>= num_classes`` is an error naming the config value.

    Returns ``{'loss_<name>': (), '<name>_acc': ()}`` (accuracy over the known labels, 0 if none).

    Args:
        num_classes: Number of classes (categories in the dataset's category list).
        in_dim: Embedding size E.
        loss_weight: λ (1.0 for FashionNet-lite, baselines.md §4).
        keys: Batch keys of the embeddings to classify.
        label_key: ``'category'`` (default) or ``'labels'`` (product-id CE).
        name: Suffix of the returned keys.
        scale: Multiplier on the inputs. L2-normalised embeddings have unit norm, so logits of a
            freshly initialised Linear are tiny; a scale of ~16 (NormFace) lets CE train.
    """

    def __init__(self, num_classes: int, in_dim: int, loss_weight: float = 1.0,
                 keys: tuple[str, ...] = ('video_emb', 'image_emb'), label_key: str = 'category',
                 name: str = 'category', scale: float = 1.0) -> None:
        super().__init__()
        if num_classes < 2:
            raise ValueError(f'CategoryCELoss needs num_classes >= 2, got {num_classes}')
        self.num_classes, self.loss_weight = num_classes, loss_weight
        self.keys, self.label_key, self.name, self.scale = tuple(keys), label_key, name, scale
        self.classifier = nn.Linear(in_dim, num_classes)

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        """See the class docstring for the batch keys read and the dict returned."""
        labels = batch[self.label_key].long()
        too_big = labels >= self.num_classes
        if bool(too_big.any()):
            raise ValueError(f'CategoryCELoss: {self.label_key} {labels[too_big].max().item()} >= '
                             f'num_classes={self.num_classes}; set num_classes in the config to the '
                             "dataset's class count")
        known = labels >= 0
        losses, correct = [], []
        for key in self.keys:
            logits = self.classifier(self.scale * batch[key])
            if bool(known.any()):
                losses.append(F.cross_entropy(logits[known], labels[known]))
                correct.append((logits[known].argmax(1) == labels[known]).float())
            else:  # nothing to learn from this batch; keep the classifier in the graph
                losses.append(logits.sum() * 0.0)
        loss = torch.stack(losses).mean()
        acc = torch.cat(correct).mean() if correct else loss.new_zeros(())
        return {f'loss_{self.name}': self.loss_weight * loss, f'{self.name}_acc': acc.detach()}

    def extra_repr(self) -> str:
        return (f'num_classes={self.num_classes}, loss_weight={self.loss_weight}, keys={self.keys}, '
                f'label_key={self.label_key!r}, scale={self.scale}')
