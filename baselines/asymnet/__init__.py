"""AsymNet-lite (Video2Shop): Cheng, Wu, Wang, Wang, Liu, *Video2Shop: Exact Matching Clothes in
Videos to Online Shopping Images*, CVPR 2017 (arXiv 1804.05287). baselines.md §5.

Original: clothing is detected in frames and shop images; an image CNN embeds the shop region; a
video network runs a CNN per frame region and an LSTM along the clothing trajectory; a similarity
network fuses the shop feature with every LSTM step into match scores, aggregated by a
reconfigurable deep tree of gated fusion nodes into one match probability; trained on binary
match / non-match labels with an approximate scheme for the tree.

Lite version, and why:

- no detector (LPR data has no clothing tracks at train time): full frames and full shop images;
- the deep tree is replaced by a gated mixture ``s = Σ_t softmax_t(a·h_t) z_t`` over the valid
  steps (one gate level instead of a learned tree; ``max`` is an option), which keeps the
  "weight the informative steps" role and is trainable end to end with plain BCE;
- BCE on 1 positive + k=3 in-batch negatives per clip (hardest by current score, or random)
  instead of the tree's approximate training;
- CNN: ResNet-50 (full, local weights) / a quarter-width ResNet-18 (tiny, CPU).

Scoring is pairwise: ``h`` is precomputed per clip and ``f`` per image, so the evaluator's pairwise
path runs only the small MLP (exhaustive within LPR4M per-live galleries).
"""
from .head import AsymNetSimilarityHead
from .loss import AsymNetBCELoss
from .retriever import AsymNetRetriever

__all__ = ['AsymNetBCELoss', 'AsymNetRetriever', 'AsymNetSimilarityHead']
