"""A naive per-query oracle in the style of the official ``lpr_eval.py`` (stable sort, ``calculate_acc``)."""

from __future__ import annotations

import math

import numpy as np


def official_ranked_lists(
    scores: list[list[float]],
    query_ids: list[str],
    gallery_ids: list[str],
    query_groups: list | None,
    gallery_groups: list | None,
) -> dict[str, list[tuple[str, float]]]:
    """``{query_id: [(gallery_id, score), ...]}``: each query against its group (or all), stable-sorted."""
    out = {}
    for qi, qid in enumerate(query_ids):
        cands = [
            (gallery_ids[j], scores[qi][j])
            for j in range(len(gallery_ids))
            if query_groups is None or gallery_groups[j] == query_groups[qi]
        ]
        out[qid] = sorted(cands, key=lambda x: x[1], reverse=True)  # Python's sort is stable
    return out


def official_metrics(ranked: dict[str, list], gt: dict[str, list[str]], k_list, denominator='all-gt') -> dict:
    """Hit rate (%), mAP (%), median rank, by a plain loop over the GT queries."""
    if denominator == 'predicted':
        gt = {q: v for q, v in gt.items() if q in ranked}
    hits = {k: 0 for k in k_list}
    ap_sum, firsts = 0.0, []
    for qid, gt_ids in gt.items():
        ids = [c[0] for c in ranked.get(qid, [])]
        for k in k_list:
            hits[k] += any(ids[r] in gt_ids for r in range(min(k, len(ids))))
        pos = [r for r, gid in enumerate(ids) if gid in gt_ids]
        ap_sum += sum((i + 1) / (r + 1) for i, r in enumerate(pos)) / len(pos) if pos else 0.0
        firsts.append(pos[0] + 1 if pos else math.inf)
    n = len(gt)
    out = {f'R@{k}': 100.0 * hits[k] / n for k in k_list}
    out['mAP'] = 100.0 * ap_sum / n
    out['median_rank'] = float(np.median(firsts))
    out['n_queries'] = n
    return out
