"""Reproduction check: do re-run results fall inside the committed rows' 95% intervals?

``csa-bench reproduce --verify`` re-runs committed rows into a separate folder and hands both sets of
result records to :func:`compare_row`, one row (config, all its committed seeds) at a time. The
verdicts (and :data:`PASSING`) decide its exit status. Rules (also in ``docs/statistics.md``):

* The checked value is the row's first R@K of its protocol (R@1): the mean over the committed seeds.
* ``identical``: every re-run seed has exactly the committed metrics and per-query ranks (the
  bit-reproducible case: same machine, same thread count).
* ``inside`` / ``outside``: the re-run mean against the committed interval
  (:func:`csa_bench.evaluation.uncertainty.bootstrap_interval` over the committed per-query ranks).
* ``no interval``: the committed files keep no per-query outcome, so nothing can be concluded.
* ``stale``: the committed files were made from another config version (config hash) or other test
  annotations than the re-run: a re-run cannot reproduce them.
* ``failed`` / ``missing``: a re-run failed or wrote no result for a committed seed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from csa_bench.evaluation.uncertainty import Interval, bootstrap_interval, hits_at_k, rank_matrix

#: Verdicts that count as reproduced.
PASSING = ('identical', 'inside')
_K_KEY = re.compile(r'^(?:R@|top)(\d+)$')


@dataclass(frozen=True)
class Verdict:
    """The check of one committed row (module docstring for the statuses)."""

    row: str
    seeds: tuple[int, ...]
    metric: str
    committed: float | None
    interval: Interval | None
    rerun: float | None
    status: str
    note: str = ''

    @property
    def passed(self) -> bool:
        return self.status in PASSING


def first_k(record: dict) -> int | None:
    """The protocol's first K (``protocol_info.k_list[0]``), else the smallest R@K key of the metrics."""
    ks = record.get('protocol_info', {}).get('k_list')
    if isinstance(ks, list) and ks and all(isinstance(k, int) and not isinstance(k, bool) for k in ks):
        return ks[0]
    found = sorted(int(m.group(1)) for m in map(_K_KEY.match, record['metrics']) if m)
    return found[0] if found else None


def _metric_value(record: dict, k: int) -> float | None:
    for name in (f'R@{k}', f'top{k}'):
        if record['metrics'].get(name) is not None:
            return float(record['metrics'][name])
    return None


def compare_row(row: str, committed: Sequence[dict], rerun: dict[int, dict | None],
                failures: dict[int, str] | None = None) -> Verdict:
    """Verdict for one row.

    Args:
        row: the row's label (config stem).
        committed: the committed result records of the row, one per seed.
        rerun: seed -> re-run record (None when the re-run wrote none).
        failures: seed -> failure message of the re-run.
    """
    seeds = tuple(sorted(r['seed'] for r in committed))
    committed = sorted(committed, key=lambda r: r['seed'])
    k = first_k(committed[0])
    metric = f'R@{k}' if k is not None else '?'
    values = [_metric_value(r, k) for r in committed] if k is not None else []
    mean = sum(values) / len(values) if values and None not in values else None

    def verdict(status: str, note: str = '', interval: Interval | None = None, new: float | None = None) -> Verdict:
        return Verdict(row, seeds, metric, mean, interval, new, status, note)

    if mean is None:
        return verdict('no interval', f'the committed files have no {metric} value')
    failures = failures or {}
    for seed in seeds:
        if seed in failures:
            return verdict('failed', f'seed {seed}: {failures[seed]}')
        if rerun.get(seed) is None:
            return verdict('missing', f'seed {seed}: the re-run wrote no result')
    new_records = [rerun[s] for s in seeds]
    for old, new in zip(committed, new_records, strict=True):
        if old['config_hash'] != new['config_hash']:
            return verdict('stale', f"seed {old['seed']}: committed config hash {str(old['config_hash'])[:8]} "
                                    f"!= re-run {str(new['config_hash'])[:8]} (the config changed)")
        if old['annotations']['sha256'] != new['annotations']['sha256']:
            return verdict('stale', f"seed {old['seed']}: the test annotations differ from the committed ones "
                                    '(regenerated data?)')
    new_values = [_metric_value(r, k) for r in new_records]
    if None in new_values:
        return verdict('missing', f'the re-run has no {metric} value')
    new_mean = sum(new_values) / len(new_values)
    interval = None
    if all('per_query' in r for r in committed):
        _, ranks = rank_matrix([r['per_query'] for r in committed])
        interval = bootstrap_interval(hits_at_k(ranks, k), scale=_scale(committed[0]))
    same = all(old['metrics'] == new['metrics'] and old.get('per_query') == new.get('per_query')
               for old, new in zip(committed, new_records, strict=True))
    if same:
        return verdict('identical', 'every seed: the same metrics and per-query ranks', interval, new_mean)
    if interval is None:
        return verdict('no interval', 'the committed files keep no per-query outcome (older files)', None,
                       new_mean)
    inside = interval.contains(new_mean)
    return verdict('inside' if inside else 'outside', f'Δ {new_mean - mean:+.2f}', interval, new_mean)


def _scale(record: dict) -> float:
    scale = record.get('protocol_info', {}).get('scale', 100.0)
    return float(scale) if isinstance(scale, int | float) and not isinstance(scale, bool) else 100.0
