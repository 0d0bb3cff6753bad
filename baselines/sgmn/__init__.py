"""SGMN-lite: Hu et al., *Spatiotemporal Graph Guided Multi-modal Network for Livestreaming Product
Retrieval*, ACM MM 2024 (arXiv 2407.16248); code ``Huxiaowan/SGMN`` @ 4c1644f. baselines.md §11.

Not a CSA baseline: csa_bench adds it as the successor method that claims to beat RICE.

Original: CLIP ViT-B/32 shared by frames and the shop image (projection on every token, CLS =
token 0); CLIP2Video's temporal difference block on frame CLS vectors; masked mean -> cosine with
the image CLS, plus ``fc_asr``/``fc_title`` on precomputed 512-d ASR / title vectors
(``cl = vis + 0.5·txt``, s = 100 in training); a text-guided fusion block and a pairwise cross
decoder trained on the positive + 3 hard negatives mined from ``cl``; HREM's instance graph (GCI)
with a KL relevance regulariser; distance-weighted triplet losses; loss = txt + base + 10·reg + gnn +
pairwise; 8 GPUs × 32, BertAdam, warmup-cosine; ranking by embeddings only (``--embedding_sim``).

Lite version (structure kept exactly, baselines.md §11.8), and what changes:

- sizes: a CLIP-geometry ViT of width 64, 2 layers, 4 heads at 64 px / patch 16 (17 tokens), D = 64,
  T = 4, B = 16, 4 heads everywhere, random init (full config: OpenAI ViT-B/32 from a local file);
- text: a registered text encoder embeds the samples' ``title`` / ``asr`` strings (SGMN's vectors are
  precomputed JSON files of unstated origin): ``CLIPTextEncoder`` (OpenAI weights) for real data, the
  weight-free ``HashedBagOfWordsTextEncoder`` for CPU; empty text -> zero vector (MovingFashion);
- padded frames have zero CLS vectors/tokens (the release encodes all-zero images);
- all-gather: csa_bench's differentiable gather, whose backward sums the ranks' gradients (the
  release returns the local slice): the same direction, W times the magnitude, before clipping;
- the released quirks are flags, default as released: ``pairwise_diag`` (``SGMNPairwiseLoss.diag``),
  ``tmc_mask_repeat`` (``SGMNTemporalDifferenceBlock.mask_repeat``), ``hrem_cross_connect``
  (``SGMNGraphLoss.cross_connect``), ``triplet_dim512`` (``triplet_dim=512``), ``decoder_at_eval``
  (``SGMNRetriever.decoder_at_eval``); the ``sgmn-fixed`` configs turn them all off.
"""
from .decoder import SGMNPairwiseDecoder, SGMNTextFusion
from .graph import SGMNGraphLoss
from .losses import SGMNPairwiseLoss, SGMNTextLoss, SGMNTripletLoss
from .retriever import SGMNRetriever
from .tdb import SGMNTemporalDifferenceBlock

__all__ = ['SGMNGraphLoss', 'SGMNPairwiseDecoder', 'SGMNPairwiseLoss', 'SGMNRetriever',
           'SGMNTemporalDifferenceBlock', 'SGMNTextFusion', 'SGMNTextLoss', 'SGMNTripletLoss']
