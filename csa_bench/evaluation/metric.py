"""``RetrievalMetric``: the thin mmengine adapter over :mod:`csa_bench.evaluation.evaluate`.

It receives the retriever's predict outputs (one dict per sample; the test dataloader yields the
queries, then the gallery)::

    role        'query' | 'gallery'
    sample_id   clip id (query); for gallery entries the unique entry id
    item_id     gallery entries: the product/image id that ground truth names (matched against
                ``gt_ids``; duplicates each keep their own rank slot)
    gt_ids      list[str], queries: correct gallery ids
    group_id    live id (LPR4M) / source (SGMN in-source) / None
    meta        dict: breakdown keys (product_scale, visible_duration, product_number; source);
                optional frame_paths / img_path (recorded in the dump for figures)
    embedding   (E,) float, L2-normalised
    pair_state  optional dict[str, Tensor]: per-sample inputs of the model's pairwise scorer

**Queries without a prediction** (e.g. an LPR4M GT clip without query frames) still count in the
denominator under ``'all-gt'`` protocols. The dataset reports them in its metainfo key
``missing_queries``: ``{query_id: [gt ids]}`` or ``{query_id: {'gt_ids': [...], 'meta': {...}}}``
(the ``meta`` feeds the breakdowns); the ``missing_queries`` argument adds to it (samples skipped at
run time: always misses). A dataset whose official metric leaves such queries out of the
denominator says so with the metainfo key ``missing_query_policy='exclude'`` (MovingFashion: the
official denominator is the number of videos with frames, 1,328); they are then counted and
reported as ``n_excluded``, never dropped silently (docs/protocols.md, "Missing queries").

**Query subsets** (``query_subset=PATH``): only the queries listed in PATH are evaluated, as the
official ``lpr_eval.py -c FILE`` (:mod:`csa_bench.evaluation.subset`).

DDP: ``process`` moves tensors to CPU and stores one entry per sample, so mmengine's
``collect_results`` gathers them in dataset order and drops the sampler's padding.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from csa_bench.registry import METRICS

from .dump import rankings_to_official, write_dump
from .evaluate import RetrievalInputs, evaluate, normalise_missing
from .functional import per_query_outcome
from .protocols import get_protocol
from .ranking import DEFAULT_MAX_BLOCK_ELEMS, EmbeddingScorer
from .rerank import PairScorer, RerankConfig, stack_states
from .subset import check_known, read_query_subset

#: dataset metainfo key listing GT queries that have no prediction.
MISSING_QUERIES_KEY = 'missing_queries'
#: dataset metainfo key: ``'miss'`` (default) or ``'exclude'``, what the metric does with those queries.
MISSING_POLICY_KEY = 'missing_query_policy'
MISSING_POLICIES = ('miss', 'exclude')
_PATH_KEYS = ('frame_paths', 'img_path')


@METRICS.register_module()
class RetrievalMetric(BaseMetric):
    """Protocol-exact video-to-shop retrieval metrics (R@K hit rate, mAP, median rank, breakdowns).

    Args:
        protocol: protocol id (``lpr4m-csa``, ``movingfashion-csa``, ... see ``PROTOCOLS``).
        k_list: override of the protocol's K list (the override is recorded in the result).
        breakdowns: override of the protocol's breakdown meta keys (``[]`` = none).
        dump_dir: if set, write embeddings, rankings, GT and result there after each evaluation
            (see :mod:`csa_bench.evaluation.dump`); overwritten by the next evaluation.
        dump_topk: length of the dumped ranked lists (at least ``max(k_list)``).
        rerank: ``None`` (off) or ``dict(mode='shortlist'|'exhaustive', k=50, alpha=0.5,
            pair_chunk=4096)``; needs ``PairwiseScorerHook`` to attach the model's scorer.
        missing_queries: extra GT queries without prediction, as the metainfo key above (misses).
        query_subset: a file listing the queries to evaluate (first tab-separated column, one per
            line, the official ``-c FILE`` format); every listed id must be a query of the dataset.
        max_block_elems: largest score block in floats (bounds memory).
        device: where to score (``'cpu'``, ``'cuda'``; ``None`` = cuda when available).
        collect_device: mmengine's gathering device.
        prefix: metric-name prefix (none by default: keys are ``R@1``, ``mAP``, ...).
    """

    default_prefix = ''

    def __init__(
        self,
        protocol: str,
        k_list: Sequence[int] | None = None,
        breakdowns: Sequence[str] | None = None,
        dump_dir: str | None = None,
        dump_topk: int = 50,
        rerank: dict | None = None,
        missing_queries: Mapping[str, object] | None = None,
        query_subset: str | None = None,
        max_block_elems: int = DEFAULT_MAX_BLOCK_ELEMS,
        device: str | None = None,
        collect_device: str = 'cpu',
        prefix: str | None = None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.protocol = get_protocol(protocol)
        self.k_list = tuple(k_list) if k_list else self.protocol.k_list
        self.breakdowns = None if breakdowns is None else tuple(breakdowns)
        self.dump_dir = dump_dir
        self.dump_topk = max(dump_topk, max(self.k_list))
        self.rerank = RerankConfig(**rerank) if rerank else None
        self.extra_missing = normalise_missing(missing_queries)
        self.query_subset = query_subset
        # Read now: a wrong path fails before hours of inference, not after.
        self._subset = read_query_subset(query_subset) if query_subset else None
        self.max_block_elems = max_block_elems
        self.device = device
        #: set by ``PairwiseScorerHook`` (the model's ``pairwise_scorer``) when rerank is on.
        self.pairwise_scorer: object | None = None
        #: the last evaluation's full result (metrics + protocol + scoring + ``per_query``, see
        #: ``functional.per_query_outcome``), also dumped.
        self.last_result: dict | None = None

    @property
    def scoring(self) -> str:
        """The leaderboard ``scoring`` text."""
        return self.rerank.label() if self.rerank else 'embedding cosine'

    def process(self, data_batch: object, data_samples: Sequence[dict]) -> None:
        """Keep ids, groups, meta and the CPU embedding (and pair state) of every sample."""
        for sample in data_samples:
            role = sample.get('role')
            if role not in ('query', 'gallery'):
                raise ValueError(
                    f"RetrievalMetric got a {role!r} sample ({sample.get('sample_id')!r}); "
                    "the test set must yield 'query' and 'gallery' samples"
                )
            if 'embedding' not in sample:
                raise KeyError(f"{role} {sample.get('sample_id')!r}: predict output has no 'embedding'")
            meta = dict(sample.get('meta') or {})
            entry = {
                'role': role,
                # Gallery entries are matched by their item (image) id: the entry id may carry a
                # view suffix or path (LPR4M '<live>/<image>-0'), and GT names the image id.
                'sample_id': str(sample.get('item_id') or sample['sample_id']) if role == 'gallery'
                else str(sample['sample_id']),
                'gt_ids': list(sample.get('gt_ids') or []),
                'group_id': sample.get('group_id'),
                'meta': meta,
                'embedding': sample['embedding'].detach().float().cpu(),
            }
            for key in _PATH_KEYS:
                value = sample.get(key, meta.get(key))
                if value is not None:
                    entry[key] = value
            if self.rerank is not None and sample.get('pair_state') is not None:
                entry['pair_state'] = {k: v.detach().cpu() for k, v in sample['pair_state'].items()}
            self.results.append(entry)

    def _group(self, entry: dict) -> object:
        if self.protocol.gallery_scope == 'same-source':
            return entry['meta'].get('source', entry['group_id'])
        return entry['group_id']

    def compute_metrics(self, results: list) -> dict[str, float]:
        """Rank, summarise, log and (optionally) dump; returns the flat metric dict."""
        queries = [r for r in results if r['role'] == 'query']
        gallery = [r for r in results if r['role'] == 'gallery']
        missing, excluded = self._missing_and_excluded()
        if self._subset is not None:
            check_known(self._subset, [q['sample_id'] for q in queries] + list(missing) + list(excluded),
                        self.query_subset, 'the evaluated dataset')
            queries = [q for q in queries if q['sample_id'] in self._subset]
            missing = {k: v for k, v in missing.items() if k in self._subset}
            excluded = {k: v for k, v in excluded.items() if k in self._subset}
        if not gallery:
            raise ValueError(f'{self.protocol.id}: the evaluation received no gallery predictions')
        inputs = RetrievalInputs(
            query_ids=[q['sample_id'] for q in queries],
            query_gt=[q['gt_ids'] for q in queries],
            gallery_ids=[g['sample_id'] for g in gallery],
            query_groups=[self._group(q) for q in queries],
            gallery_groups=[self._group(g) for g in gallery],
            query_meta=[q['meta'] for q in queries],
            missing=missing,
        )
        device = torch.device(self.device or ('cuda' if torch.cuda.is_available() else 'cpu'))
        dim = gallery[0]['embedding'].shape[0]
        q_emb = torch.stack([q['embedding'] for q in queries]) if queries else torch.zeros(0, dim)
        g_emb = torch.stack([g['embedding'] for g in gallery])
        scorer = EmbeddingScorer(q_emb.to(device), g_emb.to(device))
        rerank = None
        if self.rerank is not None:
            if self.pairwise_scorer is None:
                raise RuntimeError(
                    'rerank is enabled but no pairwise scorer is attached: add '
                    "dict(type='PairwiseScorerHook') to custom_hooks (the model needs "
                    '`pairwise_scorer`)'
                )
            pair = PairScorer(
                self.pairwise_scorer,
                stack_states([q.get('pair_state') or {} for q in queries], 'query'),
                stack_states([g.get('pair_state') or {} for g in gallery], 'gallery'),
                self.rerank.pair_chunk,
            )
            rerank = (self.rerank, pair)
        topk = self.dump_topk if self.dump_dir else 0
        metrics, rankings = evaluate(
            self.protocol,
            inputs,
            scorer,
            k_list=self.k_list,
            topk=topk,
            breakdowns=self.breakdowns,
            rerank=rerank,
            max_block_elems=self.max_block_elems,
        )
        metrics['n_excluded'] = len(excluded)
        self.last_result = {
            'metrics': metrics,
            'protocol': self.protocol.id,
            'protocol_fields': self.protocol.describe(),
            'k_list': list(self.k_list),
            'scoring': self.scoring,
            'dataset': self.protocol.dataset,
            'split': self.protocol.split,
            'excluded_queries': sorted(excluded),
            'query_subset': self.query_subset,
            # Per-query first ranks: result files keep them for intervals and paired tests.
            'per_query': per_query_outcome(inputs.query_ids, rankings.positive_ranks, list(inputs.missing),
                                           denominator=self.protocol.denominator),
        }
        self._log(metrics)
        if self.dump_dir:
            self._dump(inputs, q_emb, g_emb, queries, gallery, rankings)
        return metrics

    def _missing_and_excluded(self) -> tuple[dict[str, dict], dict[str, dict]]:
        """The dataset's queries without prediction, split by its policy: ``(misses, excluded)``."""
        meta = self.dataset_meta or {}
        listed = normalise_missing(meta.get(MISSING_QUERIES_KEY))
        policy = meta.get(MISSING_POLICY_KEY, 'miss')
        if policy not in MISSING_POLICIES:
            raise ValueError(f'dataset metainfo {MISSING_POLICY_KEY}={policy!r}; expected one of {MISSING_POLICIES}')
        missing, excluded = ({}, listed) if policy == 'exclude' else (listed, {})
        missing.update(self.extra_missing)  # skipped at run time: our failure, always a miss
        if excluded:
            print_log(f'[{self.protocol.id}] {len(excluded)} quer{"y" if len(excluded) == 1 else "ies"} without '
                      f'media excluded from the denominator (dataset rule, as the official metric): '
                      f'{", ".join(sorted(excluded)[:10])}{" …" if len(excluded) > 10 else ""}',
                      logger='current', level=logging.WARNING)
        return missing, excluded

    def _log(self, metrics: dict[str, float]) -> None:
        head = ' '.join(f'{k}={metrics[k]:.2f}' for k in [f'R@{k}' for k in self.k_list] + ['mAP'])
        print_log(
            f'[{self.protocol.id} | {self.scoring}] {head} median_rank={metrics["median_rank"]} '
            f'n_queries={metrics["n_queries"]} n_missing={metrics["n_missing"]} n_excluded={metrics["n_excluded"]} '
            f'n_empty_gallery={metrics["n_empty_gallery"]} n_unreachable_gt={metrics["n_unreachable_gt"]}',
            logger='current',
        )

    def _dump(
        self,
        inputs: RetrievalInputs,
        q_emb: torch.Tensor,
        g_emb: torch.Tensor,
        queries: list[dict],
        gallery: list[dict],
        rankings: object,
    ) -> None:
        gt = dict(zip(inputs.query_ids, inputs.query_gt, strict=True))
        gt.update({qid: m['gt_ids'] for qid, m in inputs.missing.items()})
        result = dict(self.last_result)
        result['query_frames'] = {
            q['sample_id']: list(q['frame_paths']) for q in queries if 'frame_paths' in q
        }
        result['gallery_images'] = {g['sample_id']: g['img_path'] for g in gallery if 'img_path' in g}
        out = write_dump(
            self.dump_dir,
            query_emb=q_emb,
            gallery_emb=g_emb,
            query_ids=inputs.query_ids,
            gallery_ids=inputs.gallery_ids,
            query_groups=['' if g is None else str(g) for g in inputs.query_groups],
            gallery_groups=['' if g is None else str(g) for g in inputs.gallery_groups],
            rankings=rankings_to_official(
                inputs.query_ids, inputs.gallery_ids, rankings.topk_index, rankings.topk_score
            ),
            gt=gt,
            result=result,
        )
        print_log(f'[{self.protocol.id}] evaluation dump written to {Path(out).resolve()}', logger='current')
