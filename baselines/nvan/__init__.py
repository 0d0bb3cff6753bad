"""NVAN-lite: a ResNet with non-local blocks across all frames and positions (baselines.md §7).

Paper: C.-T. Liu, C.-W. Wu, Y.-C. F. Wang, S.-Y. Chien, *Spatially and Temporally Efficient
Non-local Attention Network for Video-based Person Re-Identification*, BMVC 2019 (arXiv 1908.01683).

Original: ResNet-50 with non-local attention blocks in its later stages, aggregating features over
all frames and positions (T × H × W); STE-NVAN reduces the spatial and temporal redundancy inside
the blocks (pooling, frame reduction); temporal average pooling, a BN-neck embedding, ID
cross-entropy + batch-hard triplet.

Lite version:

- timm ResNet-18 (tiny) / ResNet-50 (full, local ImageNet weights).
- One embedded-Gaussian non-local block after stage 3 and one after stage 4 over ``(B, C, T, h, w)``,
  keys of padded frames masked, output projection zero-initialised (each block starts as the
  identity, as in Wang et al.'s non-local networks).
- Spatio-temporal GAP -> ``Linear(C, 512)`` -> BN-neck -> L2. The shop image is a 1-frame clip
  through the same network.
- Loss: category CE (product-id CE on MovingFashion, which has no categories) + batch-hard triplet
  (margin 0.3).
- Simplified: STE-NVAN's spatial/temporal reduction inside the blocks is dropped (the tiny feature
  maps, 4×4 and 2×2 at 64 px, make full attention cheap) and only two blocks are inserted (the
  original's number and placement is unverified). ID CE is on categories (LPR4M has 34; product
  ids would be 600K+ classes).

Scoring: embedding.
"""
from .encoder import NVANEncoder
from .non_local import MaskedNonLocalBlock

__all__ = ['MaskedNonLocalBlock', 'NVANEncoder']
