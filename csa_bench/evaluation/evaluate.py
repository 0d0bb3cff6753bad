"""One retrieval evaluation under a protocol: scope, positives, ranking, re-ranking, metrics, breakdowns.

Shared by the ``RetrievalMetric`` adapter (embeddings from a Runner) and ``csa-bench score``
(embeddings or a score matrix from files). No mmengine import.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from .functional import summarize
from .positives import encode_groups, resolve_positives
from .protocols import Protocol
from .ranking import DEFAULT_MAX_BLOCK_ELEMS, Rankings, ScoreBlock, rank_gallery
from .rerank import FusedScorer, PairScorer, RerankConfig, rerank_shortlist


@dataclass
class RetrievalInputs:
    """What one evaluation ranks.

    Attributes:
        query_ids: ``Q`` predicted query ids (unique).
        query_gt: ``Q`` lists of correct gallery ids.
        gallery_ids: ``G`` gallery ids in gallery-file order (duplicates allowed).
        query_groups: ``Q`` group labels (live id / source) or ``None`` each; used by per-group scopes.
        gallery_groups: ``G`` group labels or ``None`` each.
        query_meta: ``Q`` meta dicts (breakdown keys).
        missing: ``{query_id: {'gt_ids': [...], 'meta': {...}}}``: GT queries without a prediction.
    """

    query_ids: list[str]
    query_gt: list[list[str]]
    gallery_ids: list[str]
    query_groups: list[object]
    gallery_groups: list[object]
    query_meta: list[dict] = field(default_factory=list)
    missing: dict[str, dict] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n_q, n_g = len(self.query_ids), len(self.gallery_ids)
        if len(self.query_gt) != n_q or len(self.query_groups) != n_q:
            raise ValueError(
                f'query fields disagree in length: ids {n_q}, gt {len(self.query_gt)}, '
                f'groups {len(self.query_groups)}'
            )
        if len(self.gallery_groups) != n_g:
            raise ValueError(
                f'gallery ids ({n_g}) and gallery groups ({len(self.gallery_groups)}) differ in length'
            )
        if not self.query_meta:
            self.query_meta = [{} for _ in range(n_q)]
        seen = set(self.query_ids)
        if len(seen) != n_q:
            dup = next(q for i, q in enumerate(self.query_ids) if q in self.query_ids[:i])
            raise ValueError(f'query id {dup!r} is predicted twice')
        if not all(self.query_gt):
            empty = next(q for q, gt in zip(self.query_ids, self.query_gt, strict=True) if not gt)
            raise KeyError(f'prediction for query id {empty!r} which has no ground truth')
        both = seen & set(self.missing)
        if both:
            raise ValueError(f'query id {sorted(both)[0]!r} is both predicted and listed as missing')


def normalise_missing(missing: Mapping[str, object] | None) -> dict[str, dict]:
    """Accept ``{qid: [gt ids]}``, ``{qid: 'gt id'}`` or ``{qid: {'gt_ids': [...], 'meta': {...}}}``."""
    out = {}
    for qid, value in (missing or {}).items():
        if isinstance(value, Mapping):
            out[qid] = {'gt_ids': list(value.get('gt_ids', [])), 'meta': dict(value.get('meta', {}))}
        else:
            out[qid] = {'gt_ids': [value] if isinstance(value, str) else list(value), 'meta': {}}
    return out


def scope_groups(protocol: Protocol, inputs: RetrievalInputs) -> tuple[Tensor | None, Tensor | None]:
    """Group codes for the protocol's gallery scope (``None, None`` for a global gallery)."""
    if protocol.gallery_scope == 'global':
        return None, None
    for role, ids, groups in (
        ('query', inputs.query_ids, inputs.query_groups),
        ('gallery', inputs.gallery_ids, inputs.gallery_groups),
    ):
        if None in groups:  # a C-level scan of the 20K labels, then name the first offender
            sid = ids[list(groups).index(None)]
            raise ValueError(
                f'protocol {protocol.id} ranks within groups ({protocol.gallery_scope}) but '
                f'{role} {sid!r} has no group'
            )
    return encode_groups(inputs.query_groups, inputs.gallery_groups)


def evaluate(
    protocol: Protocol,
    inputs: RetrievalInputs,
    score_block: ScoreBlock,
    *,
    k_list: Sequence[int] | None = None,
    topk: int = 0,
    breakdowns: Sequence[str] | None = None,
    rerank: tuple[RerankConfig, PairScorer] | None = None,
    max_block_elems: int = DEFAULT_MAX_BLOCK_ELEMS,
) -> tuple[dict[str, float], Rankings]:
    """Rank, optionally re-rank, and summarise.

    Args:
        protocol: the protocol (scope, K list, denominator, scale, breakdowns).
        inputs: ids, GT, groups, meta, missing queries.
        score_block: embedding / matrix scorer (see ``ranking.ScoreBlock``).
        k_list: override of the protocol's K list.
        topk: ranked-list head to keep (for dumps); raised to the re-rank shortlist when needed.
        breakdowns: override of the protocol's breakdown keys.
        rerank: ``(config, pair scorer)`` or ``None``.
        max_block_elems: largest score block, in floats.

    Returns:
        ``(metrics, rankings)``: the flat metric dict (``R@K``, ``mAP``, ``median_rank``, counts,
        ``R@K/<key>=<value>`` and ``n_queries/<key>=<value>`` breakdowns) and the rankings.
    """
    k_list = tuple(k_list or protocol.k_list)
    q_groups, g_groups = scope_groups(protocol, inputs)
    positives = resolve_positives(inputs.query_gt, inputs.gallery_ids, q_groups, g_groups)
    config, pair = rerank if rerank is not None else (None, None)
    if config is not None and config.mode == 'exhaustive':
        score_block = FusedScorer(pair, score_block, config.alpha)
    shortlist = config is not None and config.mode == 'shortlist'
    if shortlist and (protocol.tie_order, protocol.score_dtype) != ('index', 'float32'):
        raise ValueError(
            f'protocol {protocol.id} ranks {protocol.score_dtype} scores with tie order {protocol.tie_order!r}; '
            "shortlist re-ranking breaks ties by gallery index: use rerank mode 'exhaustive'"
        )
    rankings = rank_gallery(
        score_block,
        positives,
        len(inputs.gallery_ids),
        query_groups=q_groups,
        gallery_groups=g_groups,
        topk=max(topk, config.k if shortlist else 0),
        max_block_elems=max_block_elems,
        tie_order=protocol.tie_order,
        score_dtype=protocol.score_dtype,
    )
    if shortlist:
        rankings = rerank_shortlist(rankings, positives, pair, config.alpha, config.k)
    metrics = summarize(
        rankings.positive_ranks,
        rankings.scope_size,
        k_list,
        n_missing=len(inputs.missing),
        denominator=protocol.denominator,
        scale=protocol.scale,
    )
    for key in protocol.breakdowns if breakdowns is None else breakdowns:
        metrics.update(breakdown(key, protocol, inputs, rankings, k_list))
    return metrics, rankings


def breakdown(
    key: str, protocol: Protocol, inputs: RetrievalInputs, rankings: Rankings, k_list: tuple[int, ...]
) -> dict[str, float]:
    """``R@K/<key>=<value>`` over the queries whose ``meta[key]`` is ``value`` (missing ones included)."""
    values = [str(m[key]) if key in m else None for m in inputs.query_meta]
    missing_values = [str(m['meta'][key]) if key in m['meta'] else None for m in inputs.missing.values()]
    if all(v is None for v in values):
        return {}  # the dataset does not carry this difficulty key: nothing to break down
    out: dict[str, float] = {}
    for value in sorted({v for v in values + missing_values}, key=lambda v: (v is None, v or '')):
        mask = torch.tensor([v == value for v in values], dtype=torch.bool)
        n_missing = sum(v == value for v in missing_values)
        sub = summarize(
            rankings.positive_ranks[mask],
            rankings.scope_size[mask],
            k_list,
            n_missing=n_missing,
            denominator=protocol.denominator,
            scale=protocol.scale,
        )
        name = f'{key}={"unknown" if value is None else value}'
        out.update({f'R@{k}/{name}': sub[f'R@{k}'] for k in k_list})
        out[f'n_queries/{name}'] = sub['n_queries']
    return out
