"""TimeSformer-lite: a divided space-time attention video tower and a ViT image tower (baselines.md §8).

Paper: Bertasius, Wang, Torresani, *Is Space-Time Attention All You Need for Video
Understanding?*, ICML 2021 (arXiv 2102.05095).

Original: ViT-B/16 on 8 frames at 224² (8 × 196 patch tokens + CLS) with learned space and time
embeddings; **divided space-time attention**: in each block, temporal attention (each patch
attends to the same location in the other frames, residual through a ``temporal_fc``
zero-initialised in every block but the first), then spatial attention within each frame (the CLS
token joins every frame and its per-frame outputs are averaged), then the MLP. Initialised from an
ImageNet ViT, trained for action classification.

Lite version (two towers, symmetric InfoNCE = ``ICLLoss``):

- Video tower: the same block, with temporal attention masking the keys of padded frames and the
  CLS average taken over real frames only (so padding never changes a clip's embedding).
  CLS -> LayerNorm -> ``Linear(-> 512)`` (L2 by the retriever). full: ViT-B/16, T = 10, 224 px,
  from a local ImageNet ViT checkpoint (timm format); tiny: width 64, depth 2, 4 heads, patch 16 at
  64 px (the synthetic benchmark's size; baselines.md suggests width 192 / depth 4 at 112 px, cut
  to fit the ≲40 s CPU budget).
- Image tower: the same ViT without temporal attention, separate weights.
- Simplified: no action-classification pre-training; a retrieval projection replaces the head.

Scoring: embedding.
"""
from .encoder import DividedSpaceTimeBlock, TimeSformerEncoder

__all__ = ['DividedSpaceTimeBlock', 'TimeSformerEncoder']
