"""A weight-free text encoder: hashed bag of words through a fixed random projection."""
from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

import torch
from torch import nn

from csa_bench.registry import MODELS

WORD = re.compile(r'[0-9a-z]+')


@MODELS.register_module()
class HashedBagOfWordsTextEncoder(nn.Module):
    """Embed strings as the mean of fixed random word vectors; no weights to load or train.

    Each lower-cased alphanumeric word is hashed (CRC-32, stable across processes, unlike Python's
    salted ``hash``) into one of ``num_buckets`` rows of a Gaussian matrix drawn from ``seed``; the
    text vector is the mean of its words' rows, so it is deterministic and two texts sharing words
    are correlated. An empty text (no words) gives the zero vector, as the official SGMN code feeds
    zeros when a dataset has no text (MovingFashion; baselines.md §11.1). For tests and CPU runs;
    real data uses ``CLIPTextEncoder``.

    ``forward(texts: Sequence[str]) -> (N, D)``; attribute ``embed_dim`` (D).

    Args:
        embed_dim: Output size ``D``.
        num_buckets: Hash buckets (distinct word vectors).
        seed: Seed of the projection.
    """

    def __init__(self, embed_dim: int = 64, num_buckets: int = 4096, seed: int = 0) -> None:
        super().__init__()
        self.embed_dim, self.num_buckets, self.seed = embed_dim, num_buckets, seed
        gen = torch.Generator().manual_seed(seed)
        # Not persistent: it is a pure function of the arguments, so checkpoints need not carry it.
        self.register_buffer('table', torch.randn(num_buckets, embed_dim, generator=gen) / embed_dim ** 0.5,
                             persistent=False)

    def bucket_ids(self, text: str) -> list[int]:
        """Hash bucket of every word of ``text``."""
        return [zlib.crc32(word.encode()) % self.num_buckets for word in WORD.findall(text.lower())]

    @torch.no_grad()
    def forward(self, texts: Sequence[str]) -> torch.Tensor:
        """Embed ``N`` strings into ``(N, D)`` (zero rows for empty texts)."""
        if isinstance(texts, str):
            raise TypeError('HashedBagOfWordsTextEncoder takes a sequence of strings, not one string')
        counts = torch.zeros(len(texts), self.num_buckets, device=self.table.device)
        for row, text in enumerate(texts):
            ids = self.bucket_ids(str(text))
            if ids:
                counts[row].index_add_(0, torch.tensor(ids, device=counts.device),
                                       torch.full((len(ids),), 1.0 / len(ids), device=counts.device))
        return counts @ self.table

    def extra_repr(self) -> str:
        return f'embed_dim={self.embed_dim}, num_buckets={self.num_buckets}, seed={self.seed}'
