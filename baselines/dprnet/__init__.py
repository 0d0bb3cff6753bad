"""DPRNet-lite: learned key-frame picking + a CNN embedding, CE + batch-hard triplet (baselines.md §10).

Paper: Zhao et al., *Dress like an Internet Celebrity: Fashion Retrieval in Videos*, IJCAI 2020.

Original (high level; details unverified): three stages: **D**etect the product in the frames,
**P**ick key frames by detection quality, **R**etrieve with a network trained with multi-task
(classification + metric) losses; evaluated on the authors' own video-to-shop data.

Lite version:

- Embedding: timm ResNet -> GAP -> ``Linear(C, 512)`` (``baselines.common.GAPNeckEncoder`` with
  ``bn=False``) -> L2 for frames and shop images.
- Key-frame picking (``TopKQualityPooling``): a learned quality head ``Linear(512 -> 1)`` scores every
  real frame, the top ``k = 3`` are kept and pooled with ``softmax(q)`` weights, so the head is trained
  end to end through the weighting.
- Loss: category CE + batch-hard triplet (margin 0.3).
- Simplified: no detector and no crops (the ``boxes=gt`` variant of the spec, which would use the
  LPR4M test boxes and deviate from the protocol, is not provided), so quality is always the learned
  head, never a detection confidence.

Scoring: embedding.
"""
from .pooling import TopKQualityPooling

__all__ = ['TopKQualityPooling']
