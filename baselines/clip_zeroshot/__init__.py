"""CLIP zero-shot (frame mean): the untrained CLIP image tower, frames averaged (baselines.md §3).

Papers: Radford et al., *Learning Transferable Visual Models From Natural Language Supervision*,
ICML 2021 (arXiv 2103.00020); mean pooling as in Luo et al., *CLIP4Clip*, Neurocomputing 2022
(arXiv 2104.08860).

Original (CLIP4Clip meanP, zero-shot): embed every frame with the CLIP image tower, L2-normalise,
take the masked mean, re-normalise; shop images through the same tower; rank by cosine.

Lite version: exactly that, on the shared ``CLIPViTEncoder`` (the RICE encoder, method.md §2) and
``MeanPooling(norm_first=True)`` (mean-then-normalise, V2, is ``norm_first=False``). Nothing is
simplified. With local OpenAI weights (``pretrained=...``) this is CLIP; without them the encoder is
random and the row is labelled ``random-init``: a floor, not CLIP. Scoring: embedding.
"""
from .model import ZeroShotRetriever

__all__ = ['ZeroShotRetriever']
