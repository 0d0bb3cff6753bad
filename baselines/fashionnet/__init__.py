"""FashionNet-lite: a CNN embedding trained with batch-hard triplet + category CE (baselines.md §4).

Paper: Liu, Luo, Qiu, Wang, Tang, *DeepFashion: Powering Robust Clothes Recognition and Retrieval
with Rich Annotations*, CVPR 2016.

Original: VGG-16 with a global branch (conv features -> fc), a local branch that pools conv
features around predicted clothing *landmarks* (landmark pooling) and a pose branch predicting
landmark locations and visibility; the branches are fused by fc layers and trained jointly on
category and attribute classification, landmark regression / visibility and a triplet loss for
consumer-to-shop retrieval.

Lite version (composed entirely of shared registered parts, so this package holds no new module):

- Backbone: timm ResNet (``resnet50`` full, ``resnet18`` tiny) through ``TimmEncoder`` -> GAP ->
  ``Linear(C, 512)`` -> BN (``baselines.common.GAPNeckEncoder``) -> L2. Clips: per frame, then the
  masked mean (``MeanPooling``), then L2.
- Loss: ``BatchHardTripletLoss`` (margin 0.3, label = product, clip<->shop triplets as the original's
  consumer-to-shop triplets) + λ·``CategoryCELoss`` (λ = 1), which stands in for the category and
  attribute heads (LPR4M / MovingFashion carry a category id, no attributes).
- Dropped: the landmark/pose branch and landmark pooling: LPR data has no landmark annotations.
  VGG-16 is replaced by ResNet (the same backbone family as the other lite baselines).

Scoring: embedding.
"""
