"""ICL: instance-level contrastive learning, a symmetric InfoNCE over the global batch (method.md §4)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from csa_bench.models.distributed import all_gather_no_grad, all_gather_with_grad, world_info
from csa_bench.registry import MODELS


def same_item_ids(batch: dict) -> torch.Tensor:
    """Per-sample product ids ``(B,) long`` for same-item masking.

    Uses ``batch['labels']`` when every label is known (>= 0), else hashes the ``item_id`` of
    ``batch['data_samples']`` (stable across ranks: Python's ``hash`` of str is salted per process,
    so a CRC is used instead).
    """
    labels = batch.get('labels')
    if labels is not None and bool((labels >= 0).all()):
        return labels.long()
    samples = batch.get('data_samples') or []
    if len(samples) != batch['video_emb'].shape[0] or any(not s.get('item_id') for s in samples):
        raise ValueError('mask_same_item=True needs known product labels (batch["labels"] >= 0) or an '
                         'item_id in every data sample')
    import zlib
    ids = [zlib.crc32(str(s['item_id']).encode()) for s in samples]
    return torch.tensor(ids, dtype=torch.long, device=batch['video_emb'].device)


@MODELS.register_module()
class ICLLoss(nn.Module):
    """Symmetric InfoNCE between pooled clip embeddings and shop-image embeddings.

    Logits are ``σ²·cos``: both sides are scaled by σ before the dot product (V2). With
    ``gather=True`` and ``W > 1`` processes, rank ``r`` scores its ``B`` rows against the ``G = W·B``
    gathered columns with labels ``r·B + i``; the gather is differentiable (all-reduce backward), so
    ``W`` processes equal one process with batch ``G`` (method.md §4).

    Reads ``batch['video_emb']`` and ``batch['image_emb']`` (both ``(B, E)``, L2-normalised), and for
    ``mask_same_item`` ``batch['labels']`` or ``batch['data_samples'][i]['item_id']``.

    Returns ``{'loss_icl': (), 'icl_acc': (), 'logit_scale': ()}``: ``icl_acc`` is the in-batch top-1
    accuracy averaged over both directions; ``logit_scale`` is the effective multiplier σ² of cos.

    Args:
        loss_weight: Multiplier of the loss.
        scale_init: σ at initialisation: 4.0 (V2, inverse temperature 16). The V1 recipe
            (fixed logits ``100·cos``) is ``scale_init=10.0, learnable_scale=False``.
        learnable_scale: σ is a parameter (V2) or a fixed buffer (V1).
        gather: All-gather both sides over processes (explicit, style rule 7). No effect on 1 process.
        mask_same_item: Drop other clips/images of the same product from the denominators (not
            negatives). Off by default for parity (method.md §11.6).
    """

    def __init__(self, loss_weight: float = 1.0, scale_init: float = 4.0, learnable_scale: bool = True,
                 gather: bool = True, mask_same_item: bool = False) -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.gather = gather
        self.mask_same_item = mask_same_item
        self.learnable_scale = learnable_scale
        scale = torch.tensor(float(scale_init))
        if learnable_scale:
            self.logit_scale = nn.Parameter(scale)
        else:
            self.register_buffer('logit_scale', scale)

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        """See the class docstring for the batch keys read and the dict returned."""
        v, u = batch['video_emb'], batch['image_emb']
        if v.shape != u.shape or v.dim() != 2:
            raise ValueError(f'ICLLoss needs video_emb and image_emb of equal shape (B, E); got '
                             f'{tuple(v.shape)} and {tuple(u.shape)}')
        s, t = self.logit_scale * v, self.logit_scale * u
        rank, world = world_info() if self.gather else (0, 1)
        s_all = all_gather_with_grad(s) if self.gather else s
        t_all = all_gather_with_grad(t) if self.gather else t
        b = v.shape[0]
        target = torch.arange(b, device=v.device) + rank * b
        logits_v2i = s @ t_all.t()  # (B, G)
        logits_i2v = t @ s_all.t()  # (B, G)
        if self.mask_same_item:
            ids = same_item_ids(batch)
            ids_all = all_gather_no_grad(ids) if self.gather and world > 1 else ids
            same = ids[:, None] == ids_all[None, :]
            same[torch.arange(b, device=v.device), target] = False  # the positive stays
            fill = torch.finfo(logits_v2i.dtype).min
            logits_v2i = logits_v2i.masked_fill(same, fill)
            logits_i2v = logits_i2v.masked_fill(same, fill)
        loss = 0.5 * (F.cross_entropy(logits_v2i, target) + F.cross_entropy(logits_i2v, target))
        with torch.no_grad():
            acc = 0.5 * ((logits_v2i.argmax(1) == target).float().mean()
                         + (logits_i2v.argmax(1) == target).float().mean())
        return {'loss_icl': self.loss_weight * loss, 'icl_acc': acc,
                'logit_scale': self.logit_scale.detach() ** 2}

    def extra_repr(self) -> str:
        return (f'loss_weight={self.loss_weight}, learnable_scale={self.learnable_scale}, '
                f'gather={self.gather}, mask_same_item={self.mask_same_item}')
