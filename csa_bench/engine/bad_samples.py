"""Report the samples a dataset skipped (``on_bad_sample='skip'``): log table, message hub, JSON file.

The dataset side (``csa_bench.datasets.RetrievalDataset``) records every skipped sample as
``(sample_id, path, reason)``, across dataloader workers. :class:`BadSampleReportHook` reads those
records and makes them visible: a log table every ``interval`` training iterations (when new ones
appeared) and at the end of training / of every val or test run, the runner's message hub
(runtime info ``bad_samples``) and ``<work_dir>/bad_samples.json`` (written atomically), which the
result JSON of ``csa-bench test`` can carry. A run that skipped nothing writes a report saying 0.

A skipped **query** still counts: during val/test the hook adds it to the metrics'
``extra_missing`` (the ``missing_queries`` contract of ``RetrievalMetric``), so under an
``all-gt`` protocol it is a miss in the denominator instead of silently shrinking it. A skipped
gallery image leaves its product unreachable for the queries that name it (also a miss).
With several ranks each rank's skips are seen by that rank only.
"""
from __future__ import annotations

import json
import os.path as osp
from collections.abc import Iterator
from typing import Any

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from csa_bench.registry import HOOKS
from csa_bench.utils.atomic import write_json_atomic

REPORT_FILE = 'bad_samples.json'


def leaf_datasets(dataset: Any) -> Iterator[Any]:
    """The datasets under mmengine's wrappers (``ConcatDataset.datasets``, ``RepeatDataset.dataset``...)."""
    children = getattr(dataset, 'datasets', None)
    if children is None and getattr(dataset, 'dataset', None) is not None:
        children = [dataset.dataset]
    if children is None:
        yield dataset
        return
    for child in children:
        yield from leaf_datasets(child)


def collect_bad_samples(dataset: Any) -> dict:
    """``{'count', 'policy', 'samples': [{'dataset', 'sample_id', 'path', 'reason'}]}`` for ``dataset``."""
    samples, policies = [], set()
    for leaf in leaf_datasets(dataset):
        policies.add(getattr(leaf, 'on_bad_sample', 'raise'))
        for sample_id, path, reason in getattr(leaf, 'bad_samples', []):
            samples.append({'dataset': type(leaf).__name__, 'sample_id': sample_id, 'path': path,
                            'reason': reason})
    return {'count': len(samples), 'policy': '/'.join(sorted(policies)), 'samples': samples}


def format_table(split: str, report: dict, limit: int = 50) -> str:
    """A plain-text table of a report (the log is plain text; at most ``limit`` rows, then a count)."""
    rows = [(s['sample_id'], s['path'], s['reason']) for s in report['samples']]
    head = f'bad samples ({split}, on_bad_sample={report["policy"]}): {report["count"]} skipped'
    if not rows:
        return head
    widths = [max(len(str(r[i])) for r in [('sample_id', 'path', 'reason'), *rows[:limit]]) for i in range(3)]
    header = ('sample_id', 'path', 'reason')
    lines = [head, '  '.join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines += ['  '.join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows[:limit]]
    if len(rows) > limit:
        lines.append(f'... and {len(rows) - limit} more (all in {REPORT_FILE})')
    return '\n'.join(lines)


def _query_index(dataset: Any) -> dict[str, dict]:
    """``{query sample_id: {'gt_ids', 'meta'}}`` over the leaf datasets (read once a query was skipped)."""
    index = {}
    for leaf in leaf_datasets(dataset):
        for i in range(len(leaf)):
            info = leaf.get_data_info(i)
            if info.get('role') == 'query':
                index[info['sample_id']] = {'gt_ids': list(info.get('gt_ids', [])),
                                            'meta': dict(info.get('meta', {}))}
    return index


def _read_report(path: str) -> dict:
    if not osp.isfile(path):
        return {}
    try:
        with open(path, encoding='utf-8') as handle:
            content = json.load(handle)
    except (OSError, json.JSONDecodeError):
        return {}   # an unreadable old report is replaced, never merged
    return content if isinstance(content, dict) else {}


@HOOKS.register_module()
class BadSampleReportHook(Hook):
    """Log, store and write the skipped-sample report of the train / val / test datasets.

    Args:
        interval: During training, report every ``interval`` iterations when the count grew
            (the iteration-based loop has no epoch end; the final report comes at ``after_train``).
        out_file: File name in the work dir (JSON: ``{split: report}``, see
            :func:`collect_bad_samples`).
    """

    priority = 'LOW'

    def __init__(self, interval: int = 1000, out_file: str = REPORT_FILE) -> None:
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        self.interval = interval
        self.out_file = out_file
        self.reports: dict[str, dict] = {}
        self._last_count: dict[str, int] = {}
        self._counted: set[str] = set()

    def _report(self, runner, split: str, dataset: Any, final: bool) -> None:
        report = collect_bad_samples(dataset)
        if not final and report['count'] == self._last_count.get(split, 0):
            return
        self._last_count[split] = report['count']
        self.reports[split] = report
        runner.message_hub.update_info('bad_samples', dict(self.reports))
        if report['count']:
            runner.logger.warning(format_table(split, report))
        elif final and 'skip' in report['policy']:
            runner.logger.info(format_table(split, report))   # say "0 skipped" when skipping was allowed
        if is_main_process():
            path = osp.join(runner.work_dir, self.out_file)
            # Keep the other splits' reports (``csa-bench test`` after ``train`` in one work dir).
            previous = _read_report(path)
            write_json_atomic(path, {**previous, **self.reports})

    def after_train_iter(self, runner, batch_idx: int, data_batch: Any = None, outputs: Any = None) -> None:
        if self.every_n_train_iters(runner, self.interval):
            self._report(runner, 'train', runner.train_dataloader.dataset, final=False)

    def after_train(self, runner) -> None:
        self._report(runner, 'train', runner.train_dataloader.dataset, final=True)

    def _count_skipped_queries(self, runner, loop) -> None:
        report = collect_bad_samples(loop.dataloader.dataset)
        new = [s['sample_id'] for s in report['samples'] if s['sample_id'] not in self._counted]
        if not new:
            return
        queries = _query_index(loop.dataloader.dataset)
        for sample_id in new:
            self._counted.add(sample_id)
            if sample_id not in queries:
                continue   # a gallery entry: its product is simply unreachable (a miss)
            for metric in loop.evaluator.metrics:
                if isinstance(getattr(metric, 'extra_missing', None), dict):
                    metric.extra_missing[sample_id] = queries[sample_id]

    def after_val_iter(self, runner, batch_idx: int, data_batch: Any = None, outputs: Any = None) -> None:
        self._count_skipped_queries(runner, runner.val_loop)

    def after_test_iter(self, runner, batch_idx: int, data_batch: Any = None, outputs: Any = None) -> None:
        self._count_skipped_queries(runner, runner.test_loop)

    def after_val_epoch(self, runner, metrics: dict | None = None) -> None:
        self._report(runner, 'val', runner.val_dataloader.dataset, final=True)

    def after_test_epoch(self, runner, metrics: dict | None = None) -> None:
        self._report(runner, 'test', runner.test_dataloader.dataset, final=True)
