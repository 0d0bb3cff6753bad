"""Pairwise re-ranking: fuse a model's pairwise scores with the embedding cosine.

**Contract.** A model that can score (clip, shop image) pairs exposes an attribute
``pairwise_scorer`` with

* ``score_pairs(query_state, gallery_state) -> Tensor (n,)``: scores of ``n`` *aligned* pairs, where
  each state is a ``dict[str, Tensor]`` batched on dim 0 (``(n, ...)``);
* optionally ``score_matrix(query_state (Q, ...), gallery_state (G, ...)) -> Tensor (Q, G)`` for
  scorers that decompose (used, when present, for exhaustive scoring).

Its predict outputs carry a per-sample ``pair_state`` (``dict[str, Tensor]``, unbatched); the metric
stacks them by role. ``PairwiseScorerHook`` hands ``unwrap(model).pairwise_scorer`` to the metric.

Two modes, both off by default and labelled in the result's ``scoring`` field:

* ``shortlist``: re-rank each query's embedding top-``k`` with ``α·s_pair + (1−α)·s_emb``; entries
  beyond the shortlist keep their embedding order (ranks ``≥ k``).
* ``exhaustive``: every (query, gallery) pair of the scope gets the fused score (sensible for the
  ~55-image LPR4M per-live galleries), scored in bounded chunks.

Ties of the fused score are broken by gallery index, as everywhere else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from .ranking import Rankings

MODES = ('shortlist', 'exhaustive')


@dataclass(frozen=True)
class RerankConfig:
    """Re-ranking settings (``RetrievalMetric(rerank=dict(mode=..., k=..., alpha=...))``).

    Attributes:
        mode: ``'shortlist'`` or ``'exhaustive'``.
        k: shortlist length (shortlist mode).
        alpha: weight of the pairwise score in the fusion (1 = pairwise only).
        pair_chunk: pairs scored per ``score_pairs`` call (bounds the scorer's memory).
    """

    mode: str = 'shortlist'
    k: int = 50
    alpha: float = 0.5
    pair_chunk: int = 4096

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f'rerank mode must be one of {MODES}, got {self.mode!r}')
        if self.k < 1 or self.pair_chunk < 1 or not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f'rerank needs k >= 1, pair_chunk >= 1 and 0 <= alpha <= 1, got {self}')

    def label(self) -> str:
        """The leaderboard ``scoring`` text (docs/protocols.md)."""
        if self.mode == 'shortlist':
            return f'embedding + rerank@{self.k} (α={self.alpha:g})'
        if self.alpha == 1.0:
            return 'pairwise exhaustive'
        return f'embedding + pairwise exhaustive (α={self.alpha:g})'


def stack_states(states: Sequence[dict[str, Tensor]], role: str) -> dict[str, Tensor]:
    """Stack per-sample ``pair_state`` dicts into one batched dict ``{key: (N, ...)}``."""
    if not states:
        return {}
    keys = set(states[0])
    for i, state in enumerate(states):
        if set(state) != keys:
            raise ValueError(f'{role} sample {i}: pair_state keys {sorted(state)} differ from {sorted(keys)}')
    return {key: torch.stack([torch.as_tensor(s[key]) for s in states]) for key in sorted(keys)}


def _device_of(scorer: object) -> torch.device:
    params = getattr(scorer, 'parameters', None)
    if callable(params):
        for param in params():
            return param.device
    return torch.device('cpu')


class PairScorer:
    """Chunked access to a model's pairwise scorer over stacked query / gallery states."""

    def __init__(
        self, scorer: object, query_state: dict[str, Tensor], gallery_state: dict[str, Tensor], chunk: int
    ) -> None:
        if not callable(getattr(scorer, 'score_pairs', None)):
            raise TypeError(f'{type(scorer).__name__} has no score_pairs(query_state, gallery_state) method')
        if not query_state or not gallery_state:
            raise ValueError('re-ranking needs a pair_state in every query and gallery prediction')
        self.scorer, self.chunk = scorer, chunk
        self.device = _device_of(scorer)
        self.query_state, self.gallery_state = query_state, gallery_state

    def _take(self, state: dict[str, Tensor], index: Tensor) -> dict[str, Tensor]:
        return {k: v[index].to(self.device) for k, v in state.items()}

    @torch.no_grad()
    def pairs(self, q_idx: Tensor, g_idx: Tensor) -> Tensor:
        """Scores ``(n,)`` of the aligned pairs ``(q_idx[i], g_idx[i])``, on CPU."""
        out = []
        for start in range(0, q_idx.numel(), self.chunk):
            qs = self._take(self.query_state, q_idx[start : start + self.chunk])
            gs = self._take(self.gallery_state, g_idx[start : start + self.chunk])
            scores = self.scorer.score_pairs(qs, gs)
            if scores.shape != (min(self.chunk, q_idx.numel() - start),):
                raise ValueError(
                    f'score_pairs returned shape {tuple(scores.shape)} for '
                    f'{min(self.chunk, q_idx.numel() - start)} pairs'
                )
            out.append(scores.float().cpu())
        return torch.cat(out) if out else torch.zeros(0)

    @torch.no_grad()
    def matrix(self, q_idx: Tensor, g_idx: Tensor) -> Tensor:
        """Scores ``(n, m)`` of every pair, via ``score_matrix`` when the scorer has it."""
        if callable(getattr(self.scorer, 'score_matrix', None)):
            scores = self.scorer.score_matrix(
                self._take(self.query_state, q_idx), self._take(self.gallery_state, g_idx)
            )
            return scores.float().cpu()
        n, m = q_idx.numel(), g_idx.numel()
        return self.pairs(q_idx.repeat_interleave(m), g_idx.repeat(n)).view(n, m)


class FusedScorer:
    """``α·s_pair + (1−α)·s_emb`` blocks for exhaustive ranking (a ``ScoreBlock``)."""

    def __init__(self, pair: PairScorer, embedding: object, alpha: float) -> None:
        self.pair, self.embedding, self.alpha = pair, embedding, alpha

    def __call__(self, q_idx: Tensor, g_idx: Tensor) -> Tensor:
        fused = self.alpha * self.pair.matrix(q_idx, g_idx)
        if self.alpha < 1.0:
            fused += (1.0 - self.alpha) * self.embedding(q_idx, g_idx).cpu()
        return fused


def rerank_shortlist(
    rankings: Rankings, positives: Tensor, pair: PairScorer, alpha: float, k: int
) -> Rankings:
    """Re-order the head ``k`` of each ranked list by the fused score; update the positives' ranks.

    Args:
        rankings: embedding rankings with ``topk_index`` of width ``≥ k``.
        positives: ``(Q, P)`` global gallery indices of the positives (``-1`` padded).
        pair: the pairwise scorer.
        alpha: weight of the pairwise score.
        k: shortlist length.
    """
    index = rankings.topk_index[:, :k].clone()
    emb = rankings.topk_score[:, :k].clone()
    valid = index >= 0
    rows, cols = valid.nonzero(as_tuple=True)
    fused = torch.full(index.shape, float('-inf'))
    pair_scores = pair.pairs(rows, index[rows, cols])
    fused[rows, cols] = alpha * pair_scores + (1.0 - alpha) * emb[rows, cols]
    # (-fused, gallery index): stable sort by index first, then by score; padding goes last.
    by_index = torch.where(valid, index, torch.iinfo(torch.long).max).argsort(dim=1, stable=True)
    index, fused = index.gather(1, by_index), fused.gather(1, by_index)
    order = torch.argsort(-fused, dim=1, stable=True)
    index, fused = index.gather(1, order), fused.gather(1, order)
    fused[index < 0] = float('nan')
    ranks = rankings.positive_ranks.clone()
    in_list = (ranks >= 0) & (ranks < k)
    match = (positives.unsqueeze(2) == index.unsqueeze(1)) & (index >= 0).unsqueeze(1)  # (Q, P, k)
    new_rank = match.to(torch.uint8).argmax(dim=2)
    ranks = torch.where(in_list, new_rank, ranks)
    head_index = torch.cat([index, rankings.topk_index[:, k:]], dim=1)
    head_score = torch.cat([fused, rankings.topk_score[:, k:]], dim=1)
    return Rankings(ranks, rankings.scope_size, head_index, head_score)
