"""SGMN's text, base-triplet and pairwise losses (baselines.md §11.3); the graph loss is in graph.py."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from csa_bench.registry import MODELS

from .triplet import weighted_triplet_loss


def cross_en(logits: torch.Tensor, diag: bool) -> torch.Tensor:
    """SGMN's ``CrossEn``: ``−mean(diag(log_softmax(logits)))``.

    On a non-square ``(B, 4)`` matrix ``diag`` keeps rows 0–3 with column k as row k's target (the
    released ``pairwise_diag`` quirk). ``diag=False`` is the intended loss: column 0 (the positive)
    of every row.
    """
    logp = F.log_softmax(logits, dim=-1)
    return -(torch.diagonal(logp) if diag else logp[:, 0]).mean()


@torch.no_grad()
def hard_negative_clips(cl_logits: torch.Tensor, num_negatives: int = 3) -> torch.Tensor:
    """For every image ``i`` (column of ``cl (B_clips, B_images)``): the top clips by ``cl[:, i]``, not ``i``.

    Returns ``(B, num_negatives) long``, chosen without gradient (the released sort + filter).
    """
    b = cl_logits.shape[0]
    if b <= num_negatives:
        raise ValueError(f'SGMN hard-negative mining needs a batch larger than {num_negatives}, got {b}')
    scores = cl_logits.t().detach().clone()                          # (images, clips)
    scores.fill_diagonal_(float('-inf'))
    return scores.topk(num_negatives, dim=1).indices


@MODELS.register_module()
class SGMNTextLoss(nn.Module):
    """``L_txt``: InfoNCE over ``s·a cᵀ`` rows (ASR -> title), the only direction the release uses.

    Reads ``batch['text_logits'] (B, B)`` (already scaled by s). Returns ``{'loss_txt': ()}``.
    """

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        """See the class docstring."""
        # The release computes this same term twice and averages: it is one term.
        return {'loss_txt': cross_en(batch['text_logits'], diag=True)}


@MODELS.register_module()
class SGMNTripletLoss(nn.Module):
    """``L_base`` = distance-weighted triplet on ``(video_emb, image_emb)`` (sum reduction).

    Args:
        triplet_dim: ``dim`` of the weight formula; 512 as released (quirk ``triplet_dim512``),
            None = the embedding size.
        margin: 0.2.
    """

    def __init__(self, triplet_dim: int | None = 512, margin: float = 0.2) -> None:
        super().__init__()
        self.triplet_dim, self.margin = triplet_dim, margin

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        """Returns ``{'loss_base': ()}``."""
        return {'loss_base': weighted_triplet_loss(batch['video_emb'], batch['image_emb'], margin=self.margin,
                                                   dim=self.triplet_dim)}


@MODELS.register_module()
class SGMNPairwiseLoss(nn.Module):
    """``L_pair``: 4-way CE of the pairwise decoder on (image, positive clip + 3 hard negatives).

    For every image ``i`` the candidates are clip ``i`` then the 3 clips with the largest
    ``cl[:, i]`` (no gradient). The decoder scores the fused image tokens against each candidate's
    fused tokens; logits ``(B, 4)`` are scaled by ``s``. Reads ``cl_logits``, ``fused_image_tokens``,
    ``fused_clip_tokens``, ``clip_token_mask``, ``logit_scale`` and ``pair_decoder`` from the batch.

    Returns ``{'loss_pairwise': (), 'pairwise_acc': ()}`` (acc: positive ranked first).

    Args:
        num_negatives: 3.
        diag: The released ``CrossEn(diag=True)`` on the ``(B, 4)`` matrix (quirk ``pairwise_diag``).
    """

    def __init__(self, num_negatives: int = 3, diag: bool = True) -> None:
        super().__init__()
        self.num_negatives, self.diag = num_negatives, diag

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        """See the class docstring."""
        neg = hard_negative_clips(batch['cl_logits'], self.num_negatives)                    # (B, k)
        b = neg.shape[0]
        cands = torch.cat([torch.arange(b, device=neg.device)[:, None], neg], dim=1)          # (B, 1 + k)
        image = batch['fused_image_tokens']                                                  # (B, L, D)
        clips, mask = batch['fused_clip_tokens'][cands], batch['clip_token_mask'][cands]     # (B, 1+k, TL, D)
        n = cands.shape[1]
        logits = batch['pair_decoder'](image.repeat_interleave(n, 0), clips.flatten(0, 1), mask.flatten(0, 1))
        logits = batch['logit_scale'] * logits.view(b, n)
        with torch.no_grad():
            acc = (logits.argmax(dim=1) == 0).float().mean()
        return {'loss_pairwise': cross_en(logits, self.diag), 'pairwise_acc': acc}

    def extra_repr(self) -> str:
        return f'num_negatives={self.num_negatives}, diag={self.diag}'
