"""Positives and groups: which gallery entries count as correct for each query, inside its scope.

Ids are strings (LPR4M UUIDs, MovingFashion stems), compared exactly. Both functions are vectorised
(one dict pass over the ids, then tensor joins) so the full LPR4M test resolves in milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def encode_groups(query_groups: Sequence[object], gallery_groups: Sequence[object]) -> tuple[Tensor, Tensor]:
    """Map group labels (any hashable, e.g. live ids) to shared long codes ``(Q,)``, ``(G,)``."""
    codes: dict[object, int] = {}
    q = [codes.setdefault(g, len(codes)) for g in query_groups]
    g = [codes.setdefault(x, len(codes)) for x in gallery_groups]
    return torch.tensor(q, dtype=torch.long), torch.tensor(g, dtype=torch.long)


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
    g_code = torch.tensor([codes.setdefault(gid, len(codes)) for gid in gallery_ids], dtype=torch.long)
    lengths = torch.tensor([len(ids) for ids in query_gt_ids], dtype=torch.long)
    code_of = torch.tensor([codes.get(gid, -1) for ids in query_gt_ids for gid in ids], dtype=torch.long)
    query_of = torch.repeat_interleave(torch.arange(n_query), lengths)
    known = code_of >= 0
    if not bool(known.any()):
        return torch.full((n_query, 0), -1, dtype=torch.long)
    # A GT id listed twice for one query is one id: drop repeated (query, id) pairs.
    pair_key = torch.unique(query_of[known] * max(len(codes), 1) + code_of[known])
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
    order = torch.argsort(q_of * max(len(gallery_ids), 1) + g_of)  # by query, then gallery index
    q_of, g_of = q_of[order], g_of[order]
    per_query = torch.bincount(q_of, minlength=n_query)
    column = torch.arange(q_of.numel()) - torch.repeat_interleave(
        torch.cumsum(per_query, 0) - per_query, per_query
    )
    out = torch.full((n_query, int(per_query.max()) if q_of.numel() else 0), -1, dtype=torch.long)
    out[q_of, column] = g_of
    return out
