"""Positives and groups: which gallery entries count as correct for each query, inside its scope.

Ids are strings (LPR4M UUIDs, MovingFashion stems), compared exactly. Both functions are vectorised
(one dict pass over the ids, then tensor joins) so the full LPR4M test resolves in milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import chain, repeat

import numpy as np
import torch
from torch import Tensor


def long_tensor(values: Iterable[int], count: int = -1) -> Tensor:
    """``(N,)`` long tensor from Python ints, through numpy: ~8x faster than ``torch.tensor(list)``,
    which dominates id handling at the LPR4M test size (20,079 queries)."""
    return torch.from_numpy(np.fromiter(values, dtype=np.int64, count=count))


def encode_groups(query_groups: Sequence[object], gallery_groups: Sequence[object]) -> tuple[Tensor, Tensor]:
    """Map group labels (any hashable, e.g. live ids) to shared long codes ``(Q,)``, ``(G,)``."""
    codes: dict[object, int] = {}
    q = long_tensor((codes.setdefault(g, len(codes)) for g in query_groups), len(query_groups))
    g = long_tensor((codes.setdefault(x, len(codes)) for x in gallery_groups), len(gallery_groups))
    return q, g


def resolve_positives(
    query_gt_ids: Sequence[Sequence[str]],
    gallery_ids: Sequence[str],
    query_groups: Tensor | None = None,
    gallery_groups: Tensor | None = None,
) -> Tensor:
    """Global gallery indices of every entry whose id is one of the query's GT ids, inside its scope.

    Every copy of a duplicated id is a positive (each takes its own rank slot). Vectorised: ids are
    coded once, then (query, GT id) pairs are joined with the gallery entries of that id.

    Returns:
        ``(Q, P)`` long, ``-1`` padded, indices ascending per row.
    """
    n_query = len(query_gt_ids)
    codes: dict[str, int] = {}
    g_code = long_tensor((codes.setdefault(gid, len(codes)) for gid in gallery_ids), len(gallery_ids))
    lengths = long_tensor(map(len, query_gt_ids), n_query)
    code_of = long_tensor(map(codes.get, chain.from_iterable(query_gt_ids), repeat(-1)))
    query_of = torch.repeat_interleave(torch.arange(n_query), lengths)
    known = code_of >= 0
    if not bool(known.any()):
        return torch.full((n_query, 0), -1, dtype=torch.long)
    # A GT id listed twice for one query is one id: drop repeated (query, id) pairs.
    pair_key = query_of[known] * max(len(codes), 1) + code_of[known]
    if pair_key.numel() > 1 and not bool((pair_key[1:] > pair_key[:-1]).all()):  # else sorted and unique
        pair_key = torch.unique(pair_key)
    pair_q, pair_code = pair_key // max(len(codes), 1), pair_key % max(len(codes), 1)
    # Gallery entries grouped by id code: entries of code c are by_code[start[c]:start[c] + count[c]].
    by_code = torch.argsort(g_code, stable=True)
    count = torch.bincount(g_code, minlength=len(codes))
    start = torch.cumsum(count, 0) - count
    reps = count[pair_code]
    q_of = torch.repeat_interleave(pair_q, reps)
    offset = torch.arange(int(reps.sum())) - torch.repeat_interleave(torch.cumsum(reps, 0) - reps, reps)
    g_of = by_code[torch.repeat_interleave(start[pair_code], reps) + offset]
    if query_groups is not None:
        keep = query_groups[q_of] == gallery_groups[g_of]
        q_of, g_of = q_of[keep], g_of[keep]
    key = q_of * max(len(gallery_ids), 1) + g_of  # by query, then gallery index
    if key.numel() > 1 and not bool((key[1:] > key[:-1]).all()):  # one GT image per query: already sorted
        order = torch.argsort(key)
        q_of, g_of = q_of[order], g_of[order]
    per_query = torch.bincount(q_of, minlength=n_query)
    column = torch.arange(q_of.numel()) - torch.repeat_interleave(
        torch.cumsum(per_query, 0) - per_query, per_query
    )
    out = torch.full((n_query, int(per_query.max()) if q_of.numel() else 0), -1, dtype=torch.long)
    out[q_of, column] = g_of
    return out
