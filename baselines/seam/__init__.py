"""SEAM-lite (SEAM Match R-CNN): Godi, Joppi, Skenderi, Cristani, *MovingFashion: a Benchmark for
the Video-to-Shop Challenge*, WACV 2022 (arXiv 2110.02627); code ``HumaticsLAB/SEAM-Match-RCNN``;
Match R-CNN from DeepFashion2 (Ge et al., CVPR 2019). baselines.md §6.

Original: a Mask R-CNN (ResNet-50-FPN) with a matching head, pre-trained on DeepFashion2; mask-RoI
features (256, 14, 14) -> 3 × Conv3x3(256) + Conv3x3(256→1024) -> 6×6 avg-pool -> Linear(1024, 256)
+ BN give a 256-d descriptor (shop side: the largest box); frames are aggregated by a 1-D non-local
block and attention pooling; ``Linear(256, 2)`` on ``(a − b)²`` classifies match / non-match; it is
trained with weak labels (``MatchLossWeak``: the best detection per frame is the positive, every other
pair in the batch a negative) with 2-way CE.

Lite version, and why:

- no detector (not available on CPU, and LPR data has no clothing masks): whole frames / shop images
  (a crop when boxes are supplied upstream), so there is no per-detection weak labelling;
- descriptor: the CNN trunk's last stage -> one Conv3x3(C, 256) -> ReLU -> GAP -> Linear + BN
  (one conv instead of four on RoI features), shared by frames and shop images;
- aggregator: one single-head non-local layer (residual, key mask for padded frames) + masked
  attention pooling, as in SEAM;
- loss: class-balanced 2-way CE with 1 positive + 3 in-batch negatives per clip;
- trunk: ResNet-50 (full, local weights) / quarter-width ResNet-18 (tiny, CPU).

Scoring is pairwise but decomposable: ``score_matrix`` ranks whole galleries with one matmul.
"""
from .loss import SEAMMatchLoss
from .modules import SEAMDescriptorHead, SEAMMatchHead, SEAMTemporalAggregator
from .retriever import SEAMRetriever

__all__ = ['SEAMDescriptorHead', 'SEAMMatchHead', 'SEAMMatchLoss', 'SEAMRetriever', 'SEAMTemporalAggregator']
