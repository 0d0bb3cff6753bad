"""A CNN backbone followed by the embedding neck ``GAP -> Linear(C, D) [-> BN]`` (FashionNet, DPRNet)."""
from __future__ import annotations

import torch
from torch import nn

from csa_bench.models.retriever import build_module
from csa_bench.registry import MODELS


@MODELS.register_module()
class GAPNeckEncoder(nn.Module):
    """Any encoder's pooled feature, projected to the retrieval embedding by a Linear (+ BN) neck.

    ``forward(images (N, C, H, W)) -> (embedding (N, D), tokens (N, L, W))``: the backbone's pooled
    feature (timm's global average pool for CNNs, through ``TimmEncoder`` with ``embed_dim=None``) goes
    through ``Linear(C, D)`` and, with ``bn=True``, ``BatchNorm1d(D)``; tokens pass through. The
    retriever L2-normalises the embedding.

    BatchNorm sees a batch of real frames (the retriever skips padded frames) in training and its
    running statistics at test time; clips and shop images are normalised in separate calls.

    Args:
        backbone: Encoder config (e.g. ``TimmEncoder`` with ``model_name='resnet18'``, ``embed_dim=None``)
            or module, following the encoder interface.
        embed_dim: D (512, baselines.md §4).
        bn: Append ``BatchNorm1d`` (FashionNet-lite) or not (DPRNet-lite).
    """

    def __init__(self, backbone: dict | nn.Module, embed_dim: int = 512, bn: bool = True) -> None:
        super().__init__()
        self.backbone = build_module(backbone)
        in_dim = int(self.backbone.embed_dim)
        self.fc = nn.Linear(in_dim, embed_dim)
        self.bn = nn.BatchNorm1d(embed_dim) if bn else nn.Identity()
        self.embed_dim = embed_dim
        self.width = int(self.backbone.width)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode ``(N, C, H, W)`` into ``embedding (N, D)`` (unnormalised) and the backbone's tokens."""
        pooled, tokens = self.backbone(images)
        return self.bn(self.fc(pooled)), tokens
