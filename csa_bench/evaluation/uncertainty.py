"""Uncertainty of R@K from per-query outcomes: bootstrap intervals and a paired significance test.

Pure numpy + stdlib (no torch, no mmengine); the leaderboard and ``csa-bench reproduce --verify``
use it. The method (also in ``docs/statistics.md``):

* **Input.** A row is ``S`` seeds evaluated on the same ``Q`` test queries: a ``(S, Q)`` matrix of
  1-based first-correct ranks (0 = nothing correct retrieved), from the result files'
  ``per_query`` field. ``hit@K[s, q] = 1 <= rank[s, q] <= K``; the row's R@K is the mean over seeds
  of the per-seed hit rate (= the mean of the seeds' R@K in the result files).
* **Interval** (:func:`bootstrap_interval`): a two-level (hierarchical) percentile bootstrap. Each
  of ``n_resamples`` replicates draws ``Q`` queries with replacement (one draw shared by all seeds:
  they are the same queries) and ``S`` seeds with replacement, and takes the mean over the drawn
  seeds of the hit rate over the drawn queries. The interval is the 2.5th and 97.5th percentile
  (numpy's linear interpolation) of the replicates. With one seed it is the plain bootstrap over
  queries; with several it widens by the spread over seeds. The generator is seeded (default 0):
  the same inputs always give the same interval, so generated tables are deterministic.
* **Paired test** (:func:`paired_sign_test`): rows A and B on the same queries. Per query, ``d_q``
  = A's hit@K averaged over A's seeds minus B's averaged over B's seeds; the one-sided exact sign
  test counts ``n+ = #{d_q > 0}`` and ``n- = #{d_q < 0}`` (ties dropped) and returns
  ``P(X >= n+)`` for ``X ~ Binomial(n+ + n-, 1/2)``: the probability that A wins that many of the
  discordant queries if A and B were equally good. With one seed each it is the exact McNemar test.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

#: Defaults of the leaderboard's intervals.
LEVEL = 0.95
N_RESAMPLES = 2000
SEED = 0
#: Significance level of the "best" mark.
ALPHA = 0.05
#: Largest query-count block (elements) of the bootstrap: bounds memory on 20K-query sets (64 MiB).
_BLOCK_ELEMS = 1 << 23


@dataclass(frozen=True)
class Interval:
    """A point estimate and its bootstrap interval, in the caller's scale (percent by default)."""

    mean: float
    low: float
    high: float
    n_queries: int
    n_seeds: int

    def contains(self, value: float, tolerance: float = 1e-9) -> bool:
        """``low <= value <= high`` (with a float tolerance)."""
        return self.low - tolerance <= value <= self.high + tolerance


def rank_matrix(per_query: Sequence[dict]) -> tuple[tuple[str, ...], np.ndarray]:
    """Stack seeds' ``per_query`` records (result-file field) into ``(query ids, (S, Q) int64 ranks)``.

    Ranks are 1-based; ``None`` (nothing correct retrieved) becomes 0.

    Raises:
        ValueError: no record, or the seeds were evaluated on different query sets.
    """
    if not per_query:
        raise ValueError('no per-query records')
    ids = tuple(per_query[0]['query_ids'])
    rows = []
    for index, record in enumerate(per_query):
        if tuple(record['query_ids']) != ids:
            raise ValueError(f'seed {index} was evaluated on other queries than seed 0')
        rows.append([0 if r is None else int(r) for r in record['first_rank']])
    return ids, np.asarray(rows, dtype=np.int64).reshape(len(rows), len(ids))


def hits_at_k(ranks: np.ndarray, k: int) -> np.ndarray:
    """``(S, Q)`` bool: the first correct entry is in the top ``k`` (ranks 1-based, 0 = none)."""
    ranks = np.asarray(ranks)
    return (ranks >= 1) & (ranks <= k)


def point_estimate(hits: np.ndarray, scale: float = 100.0) -> float:
    """Mean over seeds of the per-seed hit rate, times ``scale``."""
    hits = np.atleast_2d(np.asarray(hits, dtype=bool))
    return float(hits.mean(axis=1).mean() * scale) if hits.size else math.nan


def _replicates(hits: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    """Replicates of a ``(M, S, Q)`` stack of hit matrices sharing one set of draws: ``(M, n_resamples)``
    hit rates (fractions). Resample ``b`` weights each query by how often it was drawn (a bincount of the
    ``b``-th run of ``Q`` integers of ``default_rng([seed, 0])``), each seed by how often it was drawn
    (row ``b`` of ``default_rng([seed, 1]).integers(0, S, (n_resamples, S))``)."""
    n_metrics, n_seeds, n_queries = hits.shape
    if n_seeds == 0 or n_queries == 0:
        raise ValueError(f'cannot bootstrap an empty hit matrix of {n_seeds} seed(s) x {n_queries} queries')
    query_rng, seed_rng = np.random.default_rng([seed, 0]), np.random.default_rng([seed, 1])
    seed_draws = seed_rng.integers(0, n_seeds, (n_resamples, n_seeds))
    flat = hits.reshape(n_metrics * n_seeds, n_queries).astype(np.float64)
    per_seed = np.empty((n_metrics * n_seeds, n_resamples))
    step = max(1, _BLOCK_ELEMS // n_queries)
    for start in range(0, n_resamples, step):
        stop = min(start + step, n_resamples)
        draws = query_rng.integers(0, n_queries, (stop - start, n_queries))
        offsets = (draws + np.arange(stop - start)[:, None] * n_queries).ravel()
        counts = np.bincount(offsets, minlength=(stop - start) * n_queries).reshape(stop - start, n_queries)
        # Hit rate of each seed on the drawn queries. Integer-valued float64 sums are exact, so the BLAS
        # product gives the same bits on every machine.
        per_seed[:, start:stop] = (counts.astype(np.float64) @ flat.T).T / n_queries
    # Replicate b averages its drawn seeds' rates: weight each seed by how often it was drawn.
    weights = np.zeros((n_resamples, n_seeds))
    np.add.at(weights, (np.arange(n_resamples)[:, None], seed_draws), 1.0 / n_seeds)
    per_seed = per_seed.reshape(n_metrics, n_seeds, n_resamples)
    return np.einsum('msb,bs->mb', per_seed, weights)


def bootstrap_replicates(hits: np.ndarray, *, n_resamples: int = N_RESAMPLES, seed: int = SEED,
                         scale: float = 100.0) -> np.ndarray:
    """The ``(n_resamples,)`` hierarchical bootstrap replicates of :func:`point_estimate` (module docstring).

    Query draws come from ``default_rng([seed, 0])`` (resample ``b`` takes the ``b``-th run of ``Q``
    integers), seed draws from ``default_rng([seed, 1])`` (an ``(n_resamples, S)`` array).
    """
    hits = np.atleast_2d(np.asarray(hits, dtype=bool))
    return _replicates(hits[None], n_resamples, seed)[0] * scale


def _interval(replicates: np.ndarray, hits: np.ndarray, level: float, scale: float) -> Interval:
    if not 0.0 < level < 1.0:
        raise ValueError(f'level must be in (0, 1), got {level}')
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(replicates, [tail, 100 - tail])
    return Interval(point_estimate(hits, scale), float(low), float(high), hits.shape[1], hits.shape[0])


def bootstrap_interval(hits: np.ndarray, *, n_resamples: int = N_RESAMPLES, level: float = LEVEL,
                       seed: int = SEED, scale: float = 100.0) -> Interval:
    """Point estimate and ``level`` percentile interval of the hit rate over queries (and seeds).

    Args:
        hits: ``(S, Q)`` or ``(Q,)`` bool, e.g. ``hits_at_k(ranks, 1)``.
        n_resamples: bootstrap replicates.
        level: interval coverage (0.95: the 2.5th to 97.5th percentile).
        seed: generator seed (fixed: identical inputs give identical intervals).
        scale: display factor (100 = percent).
    """
    hits = np.atleast_2d(np.asarray(hits, dtype=bool))
    replicates = bootstrap_replicates(hits, n_resamples=n_resamples, seed=seed, scale=scale)
    return _interval(replicates, hits, level, scale)


def bootstrap_intervals(ranks: np.ndarray, ks: Sequence[int], *, n_resamples: int = N_RESAMPLES,
                        level: float = LEVEL, seed: int = SEED, scale: float = 100.0) -> dict[int, Interval]:
    """:func:`bootstrap_interval` of ``hits_at_k(ranks, k)`` for every ``k``, from one set of draws (the
    same numbers as one call per K, at the cost of one).

    Args:
        ranks: ``(S, Q)`` 1-based first-correct ranks, 0 = none (:func:`rank_matrix`).
        ks: the cut-offs.
    """
    ks = list(ks)
    if not ks:
        return {}
    ranks = np.atleast_2d(np.asarray(ranks))
    stack = np.stack([hits_at_k(ranks, k) for k in ks])
    replicates = _replicates(stack, n_resamples, seed) * scale
    return {k: _interval(replicates[i], stack[i], level, scale) for i, k in enumerate(ks)}


def binomial_tail(successes: int, trials: int) -> float:
    """Exact ``P(X >= successes)`` for ``X ~ Binomial(trials, 1/2)`` (integer arithmetic, no overflow)."""
    if trials < 0 or successes < 0:
        raise ValueError(f'need non-negative counts, got {successes} of {trials}')
    if successes > trials:
        return 0.0
    tail = sum(math.comb(trials, i) for i in range(successes, trials + 1))
    return float(Fraction(tail, 2 ** trials))


def paired_sign_test(hits_a: np.ndarray, hits_b: np.ndarray) -> float:
    """One-sided p-value that row A's hit@K beats row B's on the same queries (module docstring).

    Args:
        hits_a: ``(S_a, Q)`` or ``(Q,)`` bool.
        hits_b: ``(S_b, Q)`` or ``(Q,)`` bool, the same queries in the same order.

    Returns:
        ``P(X >= n+)``, ``X ~ Binomial(n+ + n-, 1/2)``; 1.0 when no query differs.
    """
    a = np.atleast_2d(np.asarray(hits_a, dtype=bool)).mean(axis=0)
    b = np.atleast_2d(np.asarray(hits_b, dtype=bool)).mean(axis=0)
    if a.shape != b.shape:
        raise ValueError(f'rows were evaluated on different numbers of queries ({a.size} vs {b.size})')
    diff = a - b
    wins, losses = int((diff > 0).sum()), int((diff < 0).sum())
    return binomial_tail(wins, wins + losses) if wins + losses else 1.0
