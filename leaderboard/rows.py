"""From result files and reported data to leaderboard rows.

A reproduced row is one configuration with one set of result-changing ``--cfg-options`` overrides
(or, for ``csa-bench score`` results without a config, one method name) on one (dataset, protocol,
tta): its seeds are aggregated as mean and sample standard deviation (``ddof=1``). A reported row is
one entry of ``reported.yaml``.

Run identity (what makes two files one run, and what is refused):
- the config is named by its path from the last ``configs/`` folder (``./configs/a.py``,
  ``/elsewhere/clone/configs/a.py`` and ``configs/x/../a.py`` are one config); overrides outside
  ``csa_bench.results.NEUTRAL_KEYS`` are part of the row key and of its label
  (``config [train_cfg.max_iters=200]``);
- files that record the same checkpoint (sha256) with the same config hash and overrides are one run,
  whatever path spelled the config: the same run filed twice with the same metrics counts once;
- one checkpoint filed under two seeds, or two files identical but for the seed, are refused: a copy
  is not a new seed.
"""
from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from csa_bench.identity import overrides_text, result_overrides
from csa_bench.evaluation.uncertainty import bootstrap_intervals, rank_matrix
from csa_bench.results import COMPONENTS, ResultError, load_result

PACKAGE_DIR = Path(__file__).resolve().parent
#: Shown after the label (and part of the row key) of runs whose checkpoint was loaded with --allow-partial.
PARTIAL_MARK = ' [partial load]'
REPORTED_FILE = PACKAGE_DIR / 'reported.yaml'
PROTOCOLS_FILE = PACKAGE_DIR / 'protocols.yaml'
_K_KEY = re.compile(r'^(?:R@|top)(\d+)$')


class LeaderboardError(ValueError):
    """Invalid or conflicting inputs; ``errors`` holds one message per problem (file and field named)."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__(f'{len(errors)} invalid input(s): ' + '; '.join(errors))


@dataclass(frozen=True)
class Stat:
    """A metric over seeds: mean, sample std (None for one seed) and the seed count; ``low`` / ``high``:
    the 95% bootstrap interval over queries and seeds (None without per-query data; see
    ``csa_bench.evaluation.uncertainty``)."""

    mean: float
    std: float | None
    n: int
    low: float | None = None
    high: float | None = None


@dataclass
class Row:
    """One leaderboard row (see the module docstring)."""

    kind: str                      # 'reproduced' | 'reported'
    dataset: str
    protocol: str
    method: str
    label: str                     # config stem [+ overrides], score method name, or reported id
    components: tuple[str, ...]
    tta: str
    train_data: str
    recall: dict[int, Stat]        # K -> value in percent
    seeds: tuple[int, ...] = ()
    num_params: int | None = None
    checkpoints: tuple[str, ...] = ()
    annotations: str | None = None
    commits: tuple[str, ...] = ()
    config_hash: str | None = None
    dates: tuple[str, ...] = ()
    train_time_s: float | None = None
    test_time_s: float | None = None
    zero_shot: bool = False
    scoring: str = ''
    source: str = ''
    status: str = ''
    files: tuple[str, ...] = field(default=(), repr=False)
    key: str = ''                  # unique row identity (run key; reported: its id); best marks use it
    overrides: dict = field(default_factory=dict)   # result-changing --cfg-options of the row

    #: Per-query outcome of every seed (result files' ``per_query``): sorted query ids and the
    #: ``(seeds, queries)`` 1-based first-correct ranks (0 = none); None when a seed lacks it.
    query_ids: tuple[str, ...] | None = field(default=None, repr=False)
    ranks: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.key = self.key or f'{self.kind}:{self.label}'


def recall_values(metrics: dict) -> dict[int, float]:
    """``{K: value}`` from ``R@K`` (or ``topK``) metric keys."""
    out = {}
    for key, value in metrics.items():
        match = _K_KEY.match(key)
        if match:
            out[int(match.group(1))] = float(value)
    return out


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _stat(values: list[float], interval: tuple[float, float] | None = None) -> Stat:
    mean = sum(values) / len(values)
    low, high = interval if interval is not None else (None, None)
    if len(values) < 2:
        return Stat(mean, None, len(values), low, high)
    var = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    return Stat(mean, math.sqrt(var), len(values), low, high)


def _per_query(recs: list[dict], label: str) -> tuple[tuple[str, ...] | None, Any]:
    """``(query ids, (S, Q) ranks)`` when every seed of a row has per-query data, else ``(None, None)``."""
    if not all('per_query' in rec for rec in recs):
        return None, None
    try:
        return rank_matrix([rec['per_query'] for rec in recs])
    except ValueError as err:
        raise LeaderboardError([f"row {label}: field 'per_query': {err} (same test annotations expected)"]) from err


def load_protocols(path: str | os.PathLike = PROTOCOLS_FILE) -> dict[str, dict]:
    """Protocol descriptions (``protocols.yaml``), keyed by protocol id."""
    data = yaml.safe_load(Path(path).read_text(encoding='utf-8')) or {}
    if not isinstance(data, dict):
        raise LeaderboardError([f'{path}: expected a mapping of protocol ids'])
    return data


def _registered_protocols() -> set[str]:
    try:
        from csa_bench.registry import PROTOCOLS
        PROTOCOLS.import_from_location()
        return set(PROTOCOLS.module_dict)
    except Exception:   # noqa: BLE001  (the evaluation package may not import yet; the yaml ids still work)
        return set()


def load_reported(path: str | os.PathLike = REPORTED_FILE, known: set[str] | None = None) -> list[Row]:
    """Reported rows from a ``reported.yaml`` file; each entry needs id, method, dataset, protocol,
    metrics, source and status (``verified`` or ``quoted``; unverified numbers are never listed)."""
    entries = yaml.safe_load(Path(path).read_text(encoding='utf-8')) or []
    rows, errors, seen = [], [], set()
    for index, entry in enumerate(entries):
        where = f'{path}: entry {index}'
        if not isinstance(entry, dict):
            errors.append(f'{where}: expected a mapping')
            continue
        missing = [k for k in ('id', 'method', 'dataset', 'protocol', 'metrics', 'source', 'status')
                   if not entry.get(k)]
        if missing:
            errors.append(f"{where}: field '{missing[0]}': missing")
            continue
        where = f"{path}: entry '{entry['id']}'"
        if entry['id'] in seen:
            errors.append(f"{where}: field 'id': duplicate")
        seen.add(entry['id'])
        if entry['status'] not in ('verified', 'quoted'):
            errors.append(f"{where}: field 'status': {entry['status']!r} "
                          '(only verified or quoted numbers are shown)')
        if known is not None and entry['protocol'] not in known:
            errors.append(f"{where}: field 'protocol': unknown protocol id {entry['protocol']!r}")
        bad = [c for c in entry.get('components', []) if c not in COMPONENTS]
        if bad:
            errors.append(f"{where}: field 'components': unknown component {bad[0]!r}")
        recall = recall_values(entry['metrics'])
        if len(recall) != len(entry['metrics']):
            errors.append(f"{where}: field 'metrics': keys must be R@K or topK, "
                          f"got {sorted(entry['metrics'])}")
        method = entry['method'] + (f" ({entry['subset']})" if entry.get('subset') else '')
        rows.append(Row(kind='reported', dataset=entry['dataset'], protocol=entry['protocol'], method=method,
                        label=entry['id'], components=tuple(entry.get('components', [])),
                        tta=entry.get('tta', 'unknown'), train_data=entry.get('train_data', 'unknown'),
                        recall={k: Stat(v, None, 1) for k, v in recall.items()},
                        source=entry['source'], status=entry['status']))
    if errors:
        raise LeaderboardError(errors)
    return rows


def load_results(results_dir: str | os.PathLike, known: set[str]) -> list[tuple[Path, dict]]:
    """Every ``*.json`` under ``results_dir`` (recursively, sorted), validated; protocol ids must be known."""
    root = Path(results_dir)
    if not root.exists():
        return []
    loaded, errors = [], []
    for path in sorted(root.rglob('*.json')):
        try:
            record = load_result(path)
            if record['protocol'] not in known:
                raise ResultError(path, 'protocol', f"unknown protocol id {record['protocol']!r} "
                                                    f"(known: {', '.join(sorted(known))})")
        except ResultError as err:
            errors.append(str(err))
            continue
        loaded.append((path, record))
    if errors:
        raise LeaderboardError(errors)
    return loaded


def config_key(config: str) -> str:
    """A config path as one identity: normalised, and from the last ``configs/`` folder when it has one."""
    parts = Path(os.path.normpath(config.replace('\\', '/'))).as_posix().split('/')
    if 'configs' in parts[:-1]:
        index = len(parts) - 1 - parts[::-1].index('configs')
        parts = parts[index:]
    return '/'.join(parts)


def _run_key(record: dict) -> str:
    base = config_key(record['config']) if record['config'] else f"score:{record['method']}"
    overrides = result_overrides(record['cfg_options'])
    key = f'{base} [{overrides_text(overrides)}]' if overrides else base
    # A checkpoint loaded with --allow-partial is another model than the config's: its own row.
    return key + PARTIAL_MARK if record['allow_partial'] else key


def _fingerprint(record: dict, drop: tuple[str, ...]) -> str:
    return json.dumps({k: v for k, v in record.items() if k not in drop}, sort_keys=True, default=str)


def _assign_keys(records: list[tuple[Path, dict]]) -> list[tuple[Path, dict, str]]:
    """Each record with its run key; files of one checkpoint (same hash and overrides) share the key."""
    keyed = [(path, record, _run_key(record)) for path, record in records]
    by_checkpoint: dict[tuple, set[str]] = {}
    for _, record, key in keyed:
        if record['checkpoint_sha256']:
            ident = (record['checkpoint_sha256'], record['config_hash'],
                     _fingerprint(result_overrides(record['cfg_options']), ()))
            by_checkpoint.setdefault(ident, set()).add(key)
    canonical = {}
    for keys in by_checkpoint.values():
        chosen = min(keys, key=lambda k: (not k.startswith('configs/'), k))   # prefer the repo path
        canonical.update({k: chosen for k in keys})
    return [(path, record, canonical.get(key, key) if record['checkpoint_sha256'] else key)
            for path, record, key in keyed]


def _check_copies(keyed: list[tuple[Path, dict, str]]) -> list[str]:
    """A checkpoint under two seeds, or two files that differ only in their seed."""
    errors, by_checkpoint, by_content = [], {}, {}
    for path, record, _ in keyed:
        if record['checkpoint_sha256']:
            other = by_checkpoint.setdefault(record['checkpoint_sha256'], (path, record))
            if other[1]['seed'] != record['seed']:
                errors.append(f"{path}: field 'seed': {record['seed']} but its checkpoint "
                              f"({record['checkpoint_sha256'][:12]}) is the one of {other[0]} (seed "
                              f"{other[1]['seed']}): one checkpoint is one run; remove the copy")
                continue
        other = by_content.setdefault(_fingerprint(record, ('seed',)), (path, record))
        if other[1]['seed'] != record['seed']:
            errors.append(f"{path}: field 'seed': the file is identical to {other[0]} except for its seed "
                          f"({record['seed']} vs {other[1]['seed']}): a copy is not a new seed; remove it")
    return errors


def _check_conflicts(keyed: list[tuple[Path, dict, str]]) -> tuple[list[str], dict[str, list[Path]]]:
    """Two files for one run + seed, or one row's seeds from different config versions / data.

    Returns ``(errors, aliases)``: ``aliases`` maps the first file of a run to later files recording
    the same checkpoint and metrics (one run under several path spellings: counted once).
    """
    errors, first_of_run, first_of_config, aliases = _check_copies(keyed), {}, {}, {}
    for path, record, key in keyed:
        run = (key, record['seed'])
        if run in first_of_run:
            other = first_of_run[run]
            same_run = (record['checkpoint_sha256'] and record['checkpoint_sha256'] == other['checkpoint_sha256']
                        and record['config_hash'] == other['config_hash']
                        and record['metrics'] == other['metrics'])
            if same_run:
                aliases.setdefault(str(other['_path']), []).append(path)
            elif other['config_hash'] != record['config_hash']:
                errors.append(f"{path}: field 'config_hash': differs from {other['_path']} for the same "
                              f"config ({key}) and seed {record['seed']}")
            else:
                errors.append(f"{path}: field 'seed': duplicate of {other['_path']} (same config {key}, "
                              f"config hash and seed {record['seed']})")
            continue
        first_of_run[run] = dict(record, _path=path)
        if key not in first_of_config:
            first_of_config[key] = dict(record, _path=path)
            continue
        other = first_of_config[key]
        for name, value, other_value in (
                ('config_hash', record['config_hash'], other['config_hash']),
                ('dataset', record['dataset'], other['dataset']),
                ('protocol', record['protocol'], other['protocol']),
                ('tta', record['tta'], other['tta']),
                ('scoring', record['scoring'], other['scoring']),
                ('annotations.sha256', record['annotations']['sha256'], other['annotations']['sha256']),
                ('pretrained', record['pretrained'], other['pretrained'])):
            if value != other_value:
                errors.append(f"{path}: field '{name}': {value!r} differs from {other_value!r} in "
                              f"{other['_path']} (seed {other['seed']}) for the same config {key}: "
                              'seeds of one row must come from one config version on one dataset; '
                              're-run or remove the stale file')
                break
    return errors, aliases


def reproduced_rows(records: list[tuple[Path, dict]]) -> list[Row]:
    """Aggregate validated records into rows (one per config); raises on conflicts."""
    keyed = _assign_keys(records)
    errors, aliases = _check_conflicts(keyed)
    if errors:
        raise LeaderboardError(errors)
    duplicates = {p for paths in aliases.values() for p in paths}
    groups: dict[str, list[tuple[Path, dict]]] = {}
    for path, record, key in keyed:
        if path not in duplicates:
            groups.setdefault(key, []).append((path, record))
    rows = []
    for key, items in sorted(groups.items()):
        items.sort(key=lambda item: (item[1]['seed'] is None, item[1]['seed'] or 0))
        recs = [r for _, r in items]
        first = recs[0]
        per_k: dict[int, list[float]] = {}
        for rec in recs:
            for k, v in recall_values(rec['metrics']).items():
                per_k.setdefault(k, []).append(v)
        times = {name: [r[name] for r in recs if r[name] is not None]
                 for name in ('train_time_s', 'test_time_s')}
        overrides = result_overrides(first['cfg_options'])
        label = Path(config_key(first['config'])).stem if first['config'] else first['method']
        label += f' [{overrides_text(overrides)}]' if overrides else ''
        label += PARTIAL_MARK if first['allow_partial'] else ''
        files = [str(p) for path, _ in items for p in (path, *aliases.get(str(path), []))]
        query_ids, ranks = _per_query(recs, label)
        scale = first['protocol_info'].get('scale', 100.0)
        scale = float(scale) if isinstance(scale, int | float) and not isinstance(scale, bool) else 100.0
        intervals = (bootstrap_intervals(ranks, sorted(per_k), scale=scale)
                     if ranks is not None and len(query_ids) else {})
        recall = {k: _stat(v, (intervals[k].low, intervals[k].high) if k in intervals else None)
                  for k, v in sorted(per_k.items())}
        rows.append(Row(
            kind='reproduced', dataset=first['dataset'], protocol=first['protocol'], method=first['method'],
            label=label, components=tuple(first['components']), tta=first['tta'],
            train_data=first['train_data'],
            recall=recall,
            seeds=tuple(r['seed'] for r in recs if r['seed'] is not None), num_params=first['num_params'],
            checkpoints=tuple(r['checkpoint_sha256'] for r in recs if r['checkpoint_sha256']),
            annotations=first['annotations']['sha256'],
            commits=tuple(dict.fromkeys(
                (r['git']['commit'] or 'unknown') + ('+dirty' if r['git']['dirty'] else '') for r in recs)),
            config_hash=first['config_hash'], dates=tuple(sorted(r['date'] for r in recs)),
            train_time_s=_mean(times['train_time_s']), test_time_s=_mean(times['test_time_s']),
            zero_shot=first['zero_shot'], scoring=first['scoring'], files=tuple(files), key=key,
            overrides=overrides, query_ids=query_ids, ranks=ranks))
    # One stem in two config folders: the labels show the folders so the rows stay distinguishable.
    stems: dict[tuple, int] = {}
    for row in rows:
        stems[(row.dataset, row.protocol, row.label)] = stems.get((row.dataset, row.protocol, row.label), 0) + 1
    for row in rows:
        if stems[(row.dataset, row.protocol, row.label)] > 1 and not row.key.startswith('score:'):
            row.label = row.key.removeprefix('configs/').replace('.py', '', 1)
    return rows
