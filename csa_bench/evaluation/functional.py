"""Retrieval metrics as pure functions (no mmengine): the official hit rate, mAP and median rank.

Every metric here is computed from the 0-based **ranks of the positives** of each query, a padded
``(Q, P)`` long tensor (``-1`` = padding / no positive there), plus ``scope_size (Q,)``, the number of
candidates the query was ranked against. That is all the official ``calculate_acc`` needs:

* ``R@K`` (docs/protocols.md) is a **hit rate**: query ``q`` counts when some ranked entry at
  position ``r < min(K, |C_q|)`` is a correct id. The first positive's rank is ``< |C_q|`` by
  definition, so the test is ``first_rank < K``; a gallery with fewer than ``K`` candidates is
  handled exactly as the official code (a hit anywhere in the ``n`` candidates).
* Duplicated gallery ids each take their own rank slot, and every copy of a correct id is a
  positive (the official ``C_q[r] in Y_q`` test matches any copy).
* mAP (csa_bench addition, §7): AP over the query's full ranked list; the relevant set is the
  positives present in the query's gallery scope (a GT id absent from it cannot be retrieved and
  is not counted in AP's denominator). A query with no positive (unreachable GT, empty gallery or
  no prediction) has AP 0.
* median rank (§7): median over the denominator of the 1-based rank of the first positive;
  ``inf`` when unreachable or missing (numpy's median: the mean of the two middle values when
  the count is even, so it can be ``inf``).

Queries with no prediction are not in the tensors: they are passed as ``n_missing`` and count as
misses with AP 0 and rank ``inf``. Whether they are in the denominator is the protocol's
``denominator`` rule: ``'all-gt'`` (official V2: every GT query) or ``'predicted'`` (V1 and SGMN:
GT ∩ predicted).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import Tensor

DENOMINATORS = ('all-gt', 'predicted')


def cosine_similarity(query: Tensor, gallery: Tensor) -> Tensor:
    """Cosine similarity of every query with every gallery vector.

    Args:
        query: ``(Q, E)`` float.
        gallery: ``(G, E)`` float, same device.

    Returns:
        ``(Q, G)`` float32 scores. Materialises the full matrix: use
        :func:`csa_bench.evaluation.ranking.rank_gallery` when ``Q × G`` may not fit.
    """
    query = torch.nn.functional.normalize(query.float(), dim=1)
    gallery = torch.nn.functional.normalize(gallery.float(), dim=1)
    return query @ gallery.T


def first_ranks(positive_ranks: Tensor) -> Tensor:
    """0-based rank of each query's first positive.

    Args:
        positive_ranks: ``(Q, P)`` long, ``-1`` for padding.

    Returns:
        ``(Q,)`` float64, ``inf`` where the query has no positive.
    """
    ranks = positive_ranks.to(torch.float64).clone()
    ranks[positive_ranks < 0] = math.inf
    if ranks.shape[1] == 0:
        return torch.full((ranks.shape[0],), math.inf, dtype=torch.float64)
    return ranks.min(dim=1).values


def average_precision(positive_ranks: Tensor) -> Tensor:
    """AP of each query over its full ranked list.

    Args:
        positive_ranks: ``(Q, P)`` long, ``-1`` for padding; positive ranks are distinct.

    Returns:
        ``(Q,)`` float64 in ``[0, 1]``; 0 for a query without positives.
    """
    valid = positive_ranks >= 0
    ranks = torch.where(valid, positive_ranks, torch.iinfo(torch.int64).max).sort(dim=1).values
    valid = valid.sum(dim=1, keepdim=True) > torch.arange(ranks.shape[1]).unsqueeze(0)
    hits_so_far = torch.arange(1, ranks.shape[1] + 1, dtype=torch.float64).unsqueeze(0)
    precision = torch.where(valid, hits_so_far / (ranks.clamp(max=2**52).to(torch.float64) + 1), 0.0)
    n_rel = valid.sum(dim=1)
    return torch.where(n_rel > 0, precision.sum(dim=1) / n_rel.clamp(min=1), 0.0)


def hit_rate_at_k(first: Tensor, k_list: Sequence[int], denominator: int) -> dict[int, float]:
    """Official hit rate: the fraction of the denominator whose first positive is within the top K.

    Args:
        first: ``(Q,)`` 0-based first-positive ranks (``inf`` = none), predicted queries only.
        k_list: the cut-offs.
        denominator: number of queries to divide by (``≥ Q``; missing queries are misses).

    Returns:
        ``{K: fraction}``; 0.0 for every K when the denominator is 0.
    """
    if denominator < first.shape[0]:
        raise ValueError(f'denominator {denominator} is smaller than the {first.shape[0]} ranked queries')
    return {k: (float((first < k).sum()) / denominator if denominator else 0.0) for k in k_list}


def median_rank(first: Tensor, n_missing: int = 0) -> float:
    """Median 1-based rank of the first positive; missing and unreachable queries are ``inf``."""
    values = np.concatenate([first.numpy() + 1, np.full(n_missing, np.inf)])
    return float(np.median(values)) if values.size else math.nan


def summarize(
    positive_ranks: Tensor,
    scope_size: Tensor,
    k_list: Sequence[int],
    *,
    n_missing: int = 0,
    denominator: str = 'all-gt',
    scale: float = 100.0,
) -> dict[str, float]:
    """All metrics of one query set.

    Args:
        positive_ranks: ``(Q, P)`` long, ``-1`` padded: ranks of each predicted query's positives.
        scope_size: ``(Q,)`` long: candidates each query was ranked against (0 = empty gallery).
        k_list: cut-offs of R@K.
        n_missing: GT queries without a prediction (misses).
        denominator: ``'all-gt'`` (missing queries count) or ``'predicted'`` (they do not).
        scale: display factor of R@K and mAP (100 = percent, as the official scripts print).

    Returns:
        ``{'R@K': .., 'mAP': .., 'median_rank': .., 'n_queries': .., 'n_missing': ..,
        'n_empty_gallery': .., 'n_unreachable_gt': ..}``. ``n_queries`` is the denominator;
        ``n_unreachable_gt`` counts predicted queries with a non-empty gallery but no GT in it.
    """
    if denominator not in DENOMINATORS:
        raise ValueError(f'denominator must be one of {DENOMINATORS}, got {denominator!r}')
    first = first_ranks(positive_ranks)
    counted_missing = n_missing if denominator == 'all-gt' else 0
    n_den = first.shape[0] + counted_missing
    out: dict[str, float] = {f'R@{k}': v * scale for k, v in hit_rate_at_k(first, k_list, n_den).items()}
    ap_sum = float(average_precision(positive_ranks).sum())
    out['mAP'] = ap_sum / n_den * scale if n_den else 0.0
    out['median_rank'] = median_rank(first, counted_missing)
    empty = scope_size == 0
    out['n_queries'] = n_den
    out['n_missing'] = n_missing
    out['n_empty_gallery'] = int(empty.sum())
    out['n_unreachable_gt'] = int(((first == math.inf) & ~empty).sum())
    return out


def per_query_outcome(
    query_ids: Sequence[str],
    positive_ranks: Tensor,
    missing_ids: Sequence[str] = (),
    *,
    denominator: str = 'all-gt',
) -> dict[str, list]:
    """Each denominator query's outcome, for intervals and paired tests (``csa_bench.evaluation.uncertainty``).

    Args:
        query_ids: ``Q`` ids of the ranked queries (rows of ``positive_ranks``).
        positive_ranks: ``(Q, P)`` long, ``-1`` padded (as :func:`summarize` takes it).
        missing_ids: GT queries without a prediction; included (as misses) only under ``'all-gt'``.
        denominator: the protocol's denominator rule.

    Returns:
        ``{'query_ids': [str] sorted, 'first_rank': [int | None], 'ap': [float]}`` aligned with the
        sorted ids: the 1-based rank of the first correct gallery entry (``None`` = none retrieved:
        a missing query or an unreachable GT) and the AP in ``[0, 1]`` (rounded to 6 decimals).
        ``R@K = 100 * mean(first_rank <= K)`` and ``mAP = 100 * mean(ap)`` reproduce :func:`summarize`.
        Sorted ids make two results on the same test set row-aligned.
    """
    if denominator not in DENOMINATORS:
        raise ValueError(f'denominator must be one of {DENOMINATORS}, got {denominator!r}')
    if len(query_ids) != positive_ranks.shape[0]:
        raise ValueError(f'{len(query_ids)} query ids for {positive_ranks.shape[0]} ranked rows')
    first = first_ranks(positive_ranks).tolist()
    ap = average_precision(positive_ranks).tolist()
    rows = {qid: (None if math.isinf(r) else int(r) + 1, round(a, 6))
            for qid, r, a in zip(query_ids, first, ap, strict=True)}
    if denominator == 'all-gt':
        rows.update({qid: (None, 0.0) for qid in missing_ids})
    ids = sorted(rows)
    return {'query_ids': ids, 'first_rank': [rows[q][0] for q in ids], 'ap': [rows[q][1] for q in ids]}


def positive_ranks_from_lists(
    ranked: Mapping[str, Sequence[str]],
    gt: Mapping[str, Sequence[str]],
) -> tuple[list[str], Tensor, Tensor, list[str]]:
    """Ranks of the GT ids in already-ranked lists (the official prediction format).

    The lists are taken in the order given (the official ``predict_topk`` writes them sorted);
    every position whose id is in the query's GT is a positive.

    Args:
        ranked: ``{query_id: [gallery_id, ...]}`` best first.
        gt: ``{query_id: [gallery_id, ...]}``: the denominator's queries.

    Returns:
        ``(query_ids, positive_ranks (Q, P), scope_size (Q,), missing_ids)`` over the predicted GT
        queries, in GT order; ``missing_ids`` are GT queries absent from ``ranked``.

    Raises:
        KeyError: a prediction for a query id absent from ``gt`` (its message names the id).
    """
    extra = [q for q in ranked if q not in gt]
    if extra:
        raise KeyError(
            f'prediction for query id {extra[0]!r} which is not in the ground truth ({len(extra)} such ids)'
        )
    query_ids, rows, sizes, missing = [], [], [], []
    for qid, gt_ids in gt.items():
        if qid not in ranked:
            missing.append(qid)
            continue
        wanted = set(gt_ids)
        query_ids.append(qid)
        rows.append([r for r, gid in enumerate(ranked[qid]) if gid in wanted])
        sizes.append(len(ranked[qid]))
    width = max((len(r) for r in rows), default=0)
    ranks = torch.full((len(rows), width), -1, dtype=torch.long)
    for i, row in enumerate(rows):
        ranks[i, : len(row)] = torch.tensor(row, dtype=torch.long)
    return query_ids, ranks, torch.tensor(sizes, dtype=torch.long), missing
