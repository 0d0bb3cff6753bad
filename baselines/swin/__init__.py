"""Swin: a hierarchical shifted-window transformer as the shared frame / shop-image encoder (baselines.md §9).

Paper: Liu et al., *Swin Transformer: Hierarchical Vision Transformer using Shifted Windows*, ICCV
2021 (arXiv 2103.14030).

Original: patch 4, window 7, shifted windows over 4 stages (Swin-B: depths 2/2/18/2, width 128 ->
1024), pre-trained on ImageNet-22k.

Lite version: timm's ``SwinTransformer`` shared by frames and shop images -> GAP -> ``Linear(-> 512)``
-> L2; frames masked-mean pooled; symmetric InfoNCE (``ICLLoss``).

- full: ``swin_base_patch4_window7_224`` with local ImageNet weights (timm format).
- tiny: width 48, depths 2/2/2/2, heads 3/6/12/24 (head width 16), at 64 px (the synthetic
  benchmark's size; baselines.md suggests 112 px). Window 7 does not tile the 16×16 / 8×8 / 4×4 /
  2×2 stage grids of a 64 px input, so the window is 4 (shift 2); timm shrinks it to the grid in
  the last stage and drops the shift where one window covers the whole grid.

Scoring: embedding.
"""
from .encoder import SwinEncoder

__all__ = ['SwinEncoder']
