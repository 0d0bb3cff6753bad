"""What ``csa-bench score`` runs (see :mod:`csa_bench.cli.score`); imported only by its ``run`` so that
the CLI starts without torch."""

from __future__ import annotations

import argparse
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from rich.table import Table

from csa_bench.cli._console import make_console
from csa_bench.cli.errors import CliError
from csa_bench.evaluation import io
from csa_bench.evaluation.coverage import Coverage, dedupe_ranked, list_coverage
from csa_bench.evaluation.dump import EMBEDDINGS, json_safe
from csa_bench.evaluation.evaluate import RetrievalInputs, breakdown, evaluate
from csa_bench.evaluation.functional import per_query_outcome, positive_ranks_from_lists, summarize
from csa_bench.evaluation.protocols import Protocol, get_protocol
from csa_bench.evaluation.ranking import EmbeddingScorer, MatrixScorer, Rankings
from csa_bench.evaluation.subset import check_known, read_query_subset


def _gallery_groups(
    protocol: Protocol, groups_path: str | None, gallery_ids: list[str], embedded: list[str] | None
) -> list[object]:
    if protocol.gallery_scope == 'global':
        return [None] * len(gallery_ids)
    if embedded is not None and all(embedded):
        return list(embedded)
    if groups_path is None:
        raise CliError(
            f'protocol {protocol.id} ranks within groups ({protocol.gallery_scope}): pass --groups '
            'or store query_groups / gallery_groups in the .npz'
        )
    _, mapping = io.load_groups(groups_path)
    missing = [g for g in gallery_ids if g not in mapping]
    if missing:
        raise CliError(
            f'groups file {groups_path}: gallery id {missing[0]!r} is in no group ({len(missing)} such ids)'
        )
    return [mapping[g] for g in gallery_ids]


def _query_groups(
    protocol: Protocol, groups_path: str | None, query_ids: list[str], embedded: list[str] | None
) -> list[object]:
    if protocol.gallery_scope == 'global':
        return [None] * len(query_ids)
    if embedded is not None and all(embedded):
        return list(embedded)
    query_map = io.load_groups(groups_path)[0] if groups_path else None
    out = []
    for qid in query_ids:
        if query_map is not None:
            if qid not in query_map:
                raise CliError(f'groups file {groups_path}: query id {qid!r} is in no group')
            out.append(query_map[qid])
        else:
            try:
                out.append(protocol.group_of_query_id(qid))
            except ValueError as exc:
                raise CliError(
                    f'{exc}; give the query groups in --groups as {{"query": {{..}}, "gallery": {{..}}}}'
                ) from exc
    return out


def _missing(gt: io.GroundTruth, predicted: set[str], source: str) -> dict[str, dict]:
    extra = sorted(predicted - set(gt.gt))
    if extra:
        raise CliError(
            f'{source}: prediction for query id {extra[0]!r} which is not in the GT ({len(extra)} such ids)'
        )
    return {q: {'gt_ids': ids, 'meta': gt.meta.get(q, {})} for q, ids in gt.gt.items() if q not in predicted}


def _restrict_gt(gt: io.GroundTruth, subset_path: str, predicted: list[str], source: str) -> io.GroundTruth:
    """The GT restricted to ``--queries`` (after checking every listed id is a GT query)."""
    _missing(gt, set(predicted), source)  # a stray prediction is an error even outside the subset
    subset = read_query_subset(subset_path)
    check_known(subset, gt.gt, subset_path, 'the GT file')
    return io.GroundTruth({q: v for q, v in gt.gt.items() if q in subset},
                          {q: v for q, v in gt.meta.items() if q in subset})


def _restrict_arrays(arrays: io.ScoreArrays, keep: set[str]) -> io.ScoreArrays:
    rows = [i for i, q in enumerate(arrays.query_ids) if q in keep]
    if len(rows) == len(arrays.query_ids):
        return arrays
    pick = (lambda a: None if a is None else a[rows])  # noqa: E731
    return replace(arrays, query_ids=[arrays.query_ids[i] for i in rows], scores=pick(arrays.scores),
                   query_emb=pick(arrays.query_emb),
                   query_groups=None if arrays.query_groups is None else [arrays.query_groups[i] for i in rows])


def score_arrays(
    args: argparse.Namespace, protocol: Protocol, gt: io.GroundTruth, path: Path
) -> tuple[dict, str, Coverage, dict]:
    arrays = io.load_npz(path)
    if getattr(args, 'queries', None):
        gt = _restrict_gt(gt, args.queries, arrays.query_ids, str(path))
        arrays = _restrict_arrays(arrays, set(gt.gt))
    missing = _missing(gt, set(arrays.query_ids), str(path))
    inputs = RetrievalInputs(
        arrays.query_ids,
        [gt.gt[q] for q in arrays.query_ids],
        arrays.gallery_ids,
        _query_groups(protocol, args.groups, arrays.query_ids, arrays.query_groups),
        _gallery_groups(protocol, args.groups, arrays.gallery_ids, arrays.gallery_groups),
        query_meta=[gt.meta.get(q, {}) for q in arrays.query_ids],
        missing=missing,
    )
    device = torch.device(args.device)
    if arrays.scores is not None:
        matrix = torch.from_numpy(np.ascontiguousarray(arrays.scores)).to(device)
        scorer, scoring = MatrixScorer(matrix), 'score matrix'
    else:
        q, g = (
            torch.from_numpy(np.ascontiguousarray(a)).float() for a in (arrays.query_emb, arrays.gallery_emb)
        )
        # Dumped embeddings are already unit-norm: re-normalising would only perturb the last bits (and ties).
        for emb in (q, g):
            if emb.numel() and not torch.allclose(emb.norm(dim=1), torch.ones(emb.shape[0]), atol=1e-3):
                emb.copy_(torch.nn.functional.normalize(emb, dim=1))
        scorer, scoring = EmbeddingScorer(q.to(device), g.to(device)), 'embedding cosine'
    metrics, rankings = evaluate(protocol, inputs, scorer, k_list=args.k)
    per_query = per_query_outcome(inputs.query_ids, rankings.positive_ranks, list(missing),
                                  denominator=protocol.denominator)
    # A score matrix / embeddings rank every gallery entry of the query's scope, each once.
    n = len(arrays.query_ids)
    coverage = Coverage(n, n, 0, 0, len(arrays.gallery_ids), 'complete: every gallery column scored')
    return metrics, scoring, coverage, per_query


def _scope_function(protocol: Protocol, gt: io.GroundTruth, groups: dict | None):
    """A query's gallery scope for the coverage check (``None``: the one global gallery)."""
    if protocol.gallery_scope == 'same-source':
        return lambda qid: gt.meta.get(qid, {}).get('source')
    if protocol.gallery_scope == 'global':
        return lambda qid: None
    if groups is not None:
        return groups.__getitem__

    def by_id(qid: str) -> object:
        try:
            return protocol.group_of_query_id(qid)
        except ValueError:
            return None   # no group rule: estimated over all queries (can only under-estimate)
    return by_id


def score_lists(
    args: argparse.Namespace, protocol: Protocol, gt: io.GroundTruth, path: Path
) -> tuple[dict, str, Coverage, dict]:
    ranked = io.load_ranked_lists(path)
    if getattr(args, 'queries', None):
        gt = _restrict_gt(gt, args.queries, list(ranked), str(path))
        ranked = {q: v for q, v in ranked.items() if q in gt.gt}
    _missing(gt, set(ranked), str(path))
    ids_only, dropped, with_repeats = dedupe_ranked({q: [g for g, _ in v] for q, v in ranked.items()})
    query_ids, ranks, sizes, missing_ids = positive_ranks_from_lists(ids_only, gt.gt)
    k_list = tuple(args.k or protocol.k_list)
    metrics = summarize(
        ranks,
        sizes,
        k_list,
        n_missing=len(missing_ids),
        denominator=protocol.denominator,
        scale=protocol.scale,
    )
    unreachable = metrics.pop('n_unreachable_gt')
    members: dict[object, set[str]] | None = None
    query_group: dict | None = None
    if args.groups and protocol.gallery_scope != 'global':
        q_groups = _query_groups(protocol, args.groups, query_ids, None)
        query_group = dict(zip(query_ids, q_groups, strict=True))
        _, g_map = io.load_groups(args.groups)
        members = {}
        for gid, group in g_map.items():
            members.setdefault(group, set()).add(gid)
        unreachable = 0
        for qid, group in zip(query_ids, q_groups, strict=True):
            outside = [g for g in ids_only[qid] if g not in members.get(group, ())]
            if outside:
                raise CliError(
                    f'{path}: query {qid!r} ranks gallery id {outside[0]!r}, which is not in its group '
                    f'{group!r} of {args.groups}'
                )
            unreachable += not any(g in members.get(group, ()) for g in gt.gt[qid])
        metrics['n_unreachable_gt'] = unreachable
    else:
        # Without the gallery we only know that no GT id was listed (it may lie below a truncated list).
        metrics['n_gt_not_listed'] = unreachable
    inputs = RetrievalInputs(
        query_ids,
        [gt.gt[q] for q in query_ids],
        [],
        [None] * len(query_ids),
        [],
        query_meta=[gt.meta.get(q, {}) for q in query_ids],
        missing={q: {'gt_ids': gt.gt[q], 'meta': gt.meta.get(q, {})} for q in missing_ids},
    )
    rankings = Rankings(
        ranks, sizes, torch.zeros(len(query_ids), 0, dtype=torch.long), torch.zeros(len(query_ids), 0)
    )
    for key in protocol.breakdowns:
        metrics.update(breakdown(key, protocol, inputs, rankings, k_list))
    listed = {q: ids_only[q] for q in query_ids}
    coverage = list_coverage(listed, _scope_function(protocol, gt, query_group),
                             members if query_group is not None else None, dropped=dropped,
                             with_repeats=with_repeats)
    per_query = per_query_outcome(query_ids, ranks, missing_ids, denominator=protocol.denominator)
    return metrics, 'ranked lists as given (mAP / median rank over the listed entries)', coverage, per_query


def _print(metrics: dict, protocol: Protocol, scoring: str) -> None:
    main = Table(title=f'{protocol.id}  |  {protocol.gallery_text}  |  {scoring}')
    main.add_column('metric')
    main.add_column('value', justify='right')
    for key, value in metrics.items():
        if '/' not in key:
            main.add_row(
                key, f'{value:.2f}' if isinstance(value, float) and math.isfinite(value) else str(value)
            )
    console = make_console()
    console.print(main)
    parts = sorted({k.split('/', 1)[1] for k in metrics if '/' in k})
    if parts:
        table = Table(title='breakdowns')
        table.add_column('subset')
        ks = [k for k in metrics if '/' not in k and k.startswith('R@')]
        for k in ks + ['n_queries']:
            table.add_column(k, justify='right')
        for part in parts:
            row = [metrics.get(f'{k}/{part}') for k in ks + ['n_queries']]
            table.add_row(part, *[f'{v:.2f}' if isinstance(v, float) else str(v) for v in row])
        console.print(table)


def _sources(args: argparse.Namespace, pred: Path) -> dict:
    from csa_bench.results import sha256_file

    files = {'pred': pred, 'gt': Path(args.gt)} | ({'groups': Path(args.groups)} if args.groups else {})
    if getattr(args, 'queries', None):
        files['queries'] = Path(args.queries)
    return {role: {'path': str(p.resolve()), 'sha256': sha256_file(p)} for role, p in files.items()}


def run(args: argparse.Namespace) -> int:
    try:
        protocol = get_protocol(args.protocol)
    except KeyError as exc:
        raise CliError(str(exc).strip('"\'')) from exc
    pred = Path(args.pred)
    if pred.is_dir():
        pred = pred / EMBEDDINGS
    for role, path in (('--pred', pred), ('--gt', Path(args.gt)), ('--groups', Path(args.groups or '.')),
                       ('--queries', Path(getattr(args, 'queries', None) or '.'))):
        if not path.exists():
            raise CliError(f'{role} file {path} does not exist')
    try:
        gt = io.load_gt(args.gt)
        if pred.suffix == '.npz':
            metrics, scoring, coverage, per_query = score_arrays(args, protocol, gt, pred)
        elif pred.suffix == '.json':
            metrics, scoring, coverage, per_query = score_lists(args, protocol, gt, pred)
        else:
            raise CliError(f'--pred {pred}: expected a .json (official predictions) or .npz file')
    except (io.InputError, KeyError, ValueError) as exc:
        raise CliError(str(exc).strip('"\'')) from exc
    # The GT file lists exactly the queries that exist: none is excluded (same keys as RetrievalMetric).
    metrics['n_excluded'] = 0
    problems = coverage.problems(str(pred))
    if problems and args.strict:
        raise CliError(' | '.join(problems) + ' (--strict)')
    for problem in problems:
        make_console(stderr=True).print(f'[yellow]warning:[/] {problem}', highlight=False, soft_wrap=True)
    _print(metrics, protocol, scoring)
    if args.out:
        from csa_bench.results import make_result, write_result

        finite = {k: v for k, v in metrics.items() if math.isfinite(v)}  # result files hold finite numbers
        record = make_result(
            finite,
            protocol=protocol.id,
            dataset=args.dataset or protocol.dataset,
            split=args.split,
            method=args.method,
            protocol_info=protocol.describe(),
            scoring=scoring,
            per_query=per_query,
        )
        record['source_files'] = _sources(args, pred)
        record['coverage'] = coverage.as_dict()
        record['metrics_non_finite'] = json_safe({k: v for k, v in metrics.items() if k not in finite})
        write_result(args.out, record)
        make_console().print(f'result written to {args.out}')
    return 0
