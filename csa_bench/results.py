"""Result files: one JSON per evaluation run, with the provenance a leaderboard row needs.

``csa-bench test --out``, ``csa-bench score --out`` and ``csa-bench reproduce`` write them; the
leaderboard reads them. Schema 1 (every key is always present; ``null`` where unknown)::

    schema: 1                     method: str            config: str | null (repo-relative path)
    config_hash: str | null       components: [ICL|PMD|PFR ...]   losses: [loss type names]
    zero_shot: bool               protocol: str          protocol_info: {str: scalar | list}
    tta: str                      scoring: str           dataset: str           split: str
    annotations: {sha256: str | null, files: int}        train_data: str
    metrics: {name: float | null} seed: int | null       checkpoint: str | null
    checkpoint_sha256: str | null num_params: int | null
    git: {commit: str | null, dirty: bool | null}        csa_bench_version: str
    date: str (UTC ISO 8601)      hardware: {cpu: str, cpu_count: int, gpu: str | null, gpu_count: int}
    train_time_s: float | null    test_time_s: float | null

Optional keys (filled with their default when a file lacks them, so older files stay valid)::

    cfg_options: {dotted key: value}   every ``--cfg-options`` override the run was made with ({})
    coverage: {...} | null             ``csa-bench score``: how much of the gallery the lists ranked
    pretrained: {path: sha256 | null}  weight files under ``{{$CSA_PRETRAINED}}`` the config names ({})

Rules (documented here because the leaderboard relies on them):
- ``config_hash``: :func:`csa_bench.identity.config_hash`: the resolved config without the keys that
  never change a result (where/how a run executes, logging, checkpoint saving; the seed is its own
  field, so all seeds of one config share a hash), with the data-root and pretrained-dir prefixes
  written as ``{{$CSA_DATA_ROOT}}`` / ``{{$CSA_PRETRAINED}}``: ``/data/synthetic-lpr4m`` and
  ``data/synthetic-lpr4m`` hash alike when they came from ``{{$CSA_DATA_ROOT:...}}/synthetic-lpr4m``.
  What the files there hold is identified separately (test annotations: ``annotations``; trained
  weights: ``checkpoint_sha256``; pretrained weights: ``pretrained``, keyed by the placeholder path,
  null when the file is absent).
- ``cfg_options``: the overrides as applied; those that change results
  (:func:`csa_bench.identity.result_overrides`) key a leaderboard row together with the config and
  are shown in its label.
- ``annotations.sha256``: sha256 over ``"<relative path>\\t<file sha256>\\n"`` lines, sorted by path, of
  every file under ``<data_root>/annotations/`` plus the top-level ``*.json`` / ``*.txt`` files of the
  test dataset's ``data_root`` (the official LPR4M and MovingFashion layouts keep their annotation files
  exactly there; frames, videos and images are not hashed).
- ``per_query`` (optional; absent in older files): ``{query_ids: [str] sorted unique, first_rank: [int >= 1 |
  null], ap: [float in [0, 1]] (optional)}``, one entry per query of the R@K denominator (written by
  ``csa_bench.evaluation.functional.per_query_outcome``). It must reproduce the file's own ``R@K``
  (``100 * mean(first_rank <= K)``) and ``n_queries``; the leaderboard's intervals and paired tests use
  it (``csa_bench.evaluation.uncertainty``).
- ``metrics``: numeric scalars only. A key with one ``prefix/`` before a main metric (``retrieval/R@1``)
  is stored without it; other keys are kept verbatim.
"""
from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import math
import os
import platform
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from csa_bench import __version__
from csa_bench.identity import NEUTRAL_KEYS, _canonical_paths, _drop_keys, _json_value, config_hash, path_substitutions
from csa_bench.utils import write_json_atomic

SCHEMA = 1
#: Loss type name -> CSA component shown with a check mark (the paper README's ablation columns).
COMPONENT_LOSSES = {'ICLLoss': 'ICL', 'PMDLoss': 'PMD', 'PFRLoss': 'PFR'}
COMPONENTS = ('ICL', 'PMD', 'PFR')
#: Dataset folder names (the data-root convention) recognised in a ``data_root`` path.
KNOWN_DATASETS = ('lpr4m', 'movingfashion', 'synthetic-lpr4m', 'synthetic-movingfashion')
_HEX = re.compile(r'^[0-9a-f]{64}$')
_COMMIT = re.compile(r'^[0-9a-f]{40}([0-9a-f]{24})?$')
#: Metrics that are percentages (with ``scale`` 100; fractions with scale 1 are in range too).
_PERCENT_METRIC = re.compile(r'^(R@\d+|top\d+|mAP)(/.*)?$')
_K_METRIC = re.compile(r'^(R@|top)\d+$')
_MAIN_METRIC = re.compile(r'^(R@\d+|mAP|mdR|median_rank|top\d+)$')
_REPO_ROOT = Path(__file__).resolve().parent.parent

# field -> accepted JSON types (None = null allowed); nested dicts are checked separately.
_FIELDS: dict[str, tuple] = {
    'schema': (int,), 'method': (str,), 'config': (str, None), 'config_hash': (str, None),
    'components': (list,), 'losses': (list,), 'zero_shot': (bool,), 'protocol': (str,),
    'protocol_info': (dict,), 'tta': (str,), 'scoring': (str,), 'dataset': (str,), 'split': (str,),
    'annotations': (dict,),
    'train_data': (str,), 'metrics': (dict,), 'seed': (int, None), 'checkpoint': (str, None),
    'checkpoint_sha256': (str, None), 'num_params': (int, None), 'git': (dict,),
    'csa_bench_version': (str,), 'date': (str,), 'hardware': (dict,), 'train_time_s': (float, int, None),
    'test_time_s': (float, int, None),
}
# Optional fields (added after schema 1 was first written): accepted types and the default a file
# without them gets on load.
_OPTIONAL_FIELDS: dict[str, tuple[tuple, Any]] = {'cfg_options': ((dict,), {}), 'coverage': ((dict, None), None),
                                                  'pretrained': ((dict,), {}), 'allow_partial': ((bool,), False),
                                                  'partial_load': ((dict, None), None)}


class ResultError(ValueError):
    """An invalid result file or record; the message names the file and the field."""

    def __init__(self, source: str | os.PathLike, field: str, message: str) -> None:
        self.source, self.field = str(source), field
        super().__init__(f"{source}: field '{field}': {message}")


# ----------------------------------------------------------------------------- hashing
def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes (read in 1 MiB chunks)."""
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def annotation_files(data_root: str | os.PathLike) -> list[Path]:
    """The files whose checksum identifies a dataset's annotations (rule in the module docstring)."""
    root = Path(data_root)
    if not root.is_dir():
        raise FileNotFoundError(f'data root {root} does not exist: cannot checksum its annotation files')
    files = [p for p in root.iterdir() if p.is_file() and p.suffix in ('.json', '.txt')]
    ann_dir = root / 'annotations'
    if ann_dir.is_dir():
        files += [p for p in ann_dir.rglob('*') if p.is_file()]
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def annotation_checksum(data_root: str | os.PathLike) -> dict:
    """``{'sha256': combined hex digest (None when no file matched), 'files': count}``."""
    root = Path(data_root)
    files = annotation_files(root)
    digest = hashlib.sha256()
    for path in files:
        digest.update(f'{path.relative_to(root).as_posix()}\t{sha256_file(path)}\n'.encode())
    return {'sha256': digest.hexdigest() if files else None, 'files': len(files)}


def pretrained_files(cfg: Any) -> dict[str, str | None]:
    """``{'{{$CSA_PRETRAINED}}/ViT-B-32.pt': sha256 or None}`` for each config string under the
    pretrained-weights location (None: the file is absent here, e.g. a test with a full checkpoint)."""
    subs = [pair for pair in path_substitutions(cfg) if pair[1] == '{{$CSA_PRETRAINED}}']
    found: dict[str, str | None] = {}

    def walk(node: Any) -> None:
        if isinstance(node, str):
            canonical = _canonical_paths(node, subs)
            if canonical != node and canonical not in found:
                found[canonical] = sha256_file(node) if Path(node).is_file() else None
        elif isinstance(node, Mapping):
            for value in node.values():
                walk(value)
        elif isinstance(node, list | tuple):
            for value in node:
                walk(value)

    if subs:
        walk(_drop_keys(cfg.to_dict() if hasattr(cfg, 'to_dict') else dict(cfg), NEUTRAL_KEYS))
    return dict(sorted(found.items()))


# ----------------------------------------------------------------------------- provenance
#: What ``csa-bench reproduce`` / ``leaderboard`` themselves rewrite: a run writing its result there
#: must not mark the runs after it as made from modified code.
GENERATED_PATHS = ('leaderboard/results', 'leaderboard/LEADERBOARD.md', 'leaderboard/figures', 'README.md')


def git_state(root: str | os.PathLike = _REPO_ROOT) -> dict:
    """``{'commit': HEAD sha or None, 'dirty': tracked files other than :data:`GENERATED_PATHS`
    modified (None outside a git checkout)}``."""
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(['git', *args], cwd=root, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git('rev-parse', 'HEAD')
    if commit is None:
        return {'commit': None, 'dirty': None}
    status = git('status', '--porcelain', '--untracked-files=no', '--', '.',
                 *(f':(exclude){path}' for path in GENERATED_PATHS))
    return {'commit': commit, 'dirty': None if status is None else bool(status)}


def hardware_info() -> dict:
    """CPU model and logical core count; GPU name and count when CUDA is available."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                cpu = line.split(':', 1)[1].strip()
                break
    except OSError:
        pass
    gpu, gpu_count = None, 0
    import torch
    if torch.cuda.is_available():
        gpu_count = torch.cuda.device_count()
        gpu = torch.cuda.get_device_name(0)
    return {'cpu': cpu, 'cpu_count': os.cpu_count() or 0, 'gpu': gpu, 'gpu_count': gpu_count}


def normalize_metrics(metrics: Mapping[str, Any], source: str = '<metrics>') -> dict[str, float | None]:
    """Numeric scalars of ``metrics``, with a single ``prefix/`` dropped from main metric names;
    non-finite values (inf median rank when nothing is retrieved) become None (JSON null).

    Raises:
        ResultError: two keys collapse to one name with different values, or nothing numeric is left.
    """
    out: dict[str, float] = {}
    for key, value in metrics.items():
        if hasattr(value, 'item') and getattr(value, 'ndim', 1) == 0:
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue   # lists / arrays (dumped rankings, breakdown tables) are not leaderboard numbers
        prefix, _, name = key.rpartition('/')
        canonical = name if prefix and '/' not in prefix and _MAIN_METRIC.match(name) else key
        value = float(value) if math.isfinite(value) else None   # JSON has no inf/nan (median rank
        # of a run with no hit is inf): stored as null
        if canonical in out and out[canonical] != value:
            raise ResultError(source, f'metrics.{canonical}',
                              f'given twice with different values ({out[canonical]} and {value}, '
                              f'key {key!r})')
        out[canonical] = value
    if not out:
        raise ResultError(source, 'metrics', 'no numeric metric values')
    return dict(sorted(out.items()))


def _relative(path: str | os.PathLike | None) -> str | None:
    if path is None:
        return None
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(_REPO_ROOT).as_posix()
    except ValueError:
        return resolved.as_posix()


def make_result(metrics: Mapping[str, Any], *, protocol: str, dataset: str, split: str,
                method: str = 'external', data_root: str | os.PathLike | None = None,
                annotations: dict | None = None, config: str | os.PathLike | None = None,
                cfg_hash: str | None = None, components: list[str] | None = None,
                losses: list[str] | None = None, zero_shot: bool = False, protocol_info: dict | None = None,
                tta: str = 'none', scoring: str = 'embedding cosine', train_data: str = 'unknown',
                seed: int | None = None,
                checkpoint: str | os.PathLike | None = None, num_params: int | None = None,
                train_time_s: float | None = None, test_time_s: float | None = None,
                cfg_options: Mapping[str, Any] | None = None, per_query: dict | None = None) -> dict:
    """Build a schema-1 result record (the lower-level entry point, e.g. for ``csa-bench score``).

    Args:
        metrics: Metric name -> value (``R@1`` ... in percent, as the protocols report them).
        data_root: Dataset root whose annotation files are checksummed (ignored if ``annotations``).
        annotations: A precomputed ``{'sha256', 'files'}``; default: from ``data_root`` or unknown.
        checkpoint: Checkpoint file; its sha256 is recorded.
        cfg_options: The ``--cfg-options`` overrides applied to the config (recorded verbatim).
        per_query: Per-query outcome (module docstring); recorded when given.
    """
    if annotations is None:
        annotations = ({'sha256': None, 'files': 0} if data_root is None
                       else annotation_checksum(data_root))
    comps = sorted(set(components or []), key=lambda c: COMPONENTS.index(c) if c in COMPONENTS else 99)
    record = {
        'schema': SCHEMA, 'method': method, 'config': _relative(config), 'config_hash': cfg_hash,
        'components': comps, 'losses': list(losses or []), 'zero_shot': bool(zero_shot),
        'protocol': protocol, 'protocol_info': dict(protocol_info or {}), 'tta': tta, 'scoring': scoring,
        'dataset': dataset,
        'split': split, 'annotations': annotations, 'train_data': train_data,
        'metrics': normalize_metrics(metrics), 'seed': seed, 'checkpoint': _relative(checkpoint),
        'checkpoint_sha256': sha256_file(checkpoint) if checkpoint else None, 'num_params': num_params,
        'git': git_state(), 'csa_bench_version': __version__,
        'date': datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds'),
        'hardware': hardware_info(), 'train_time_s': train_time_s, 'test_time_s': test_time_s,
        'cfg_options': _json_value(dict(cfg_options or {})), 'coverage': None, 'pretrained': {},
    }
    if per_query is not None:
        record['per_query'] = per_query
    return validate_result(record, '<new result>')


# ----------------------------------------------------------------------------- from a config
def _first_protocol(evaluator: Any) -> str | None:
    for entry in evaluator if isinstance(evaluator, list | tuple) else [evaluator]:
        if isinstance(entry, Mapping) and entry.get('protocol'):
            return str(entry['protocol'])
        if isinstance(entry, Mapping) and isinstance(entry.get('metrics'), list | tuple):
            found = _first_protocol(list(entry['metrics']))
            if found:
                return found
    return None


def dataset_name(dataset_cfg: Mapping) -> str:
    """Dataset name: the last path part of ``data_root`` that is a known dataset folder, else the type."""
    root = str(dataset_cfg.get('data_root') or '')
    known = [part for part in Path(root).parts if part in KNOWN_DATASETS]
    if known:
        return known[-1]
    name = str(dataset_cfg.get('type', 'unknown'))
    return re.sub(r'dataset$', '', name, flags=re.IGNORECASE).lower() or name


def _describe_protocol(protocol_id: str) -> dict:
    # The registered protocol object (evaluation issue) supplies the leaderboard's header fields.
    try:
        from csa_bench.registry import PROTOCOLS
        obj = PROTOCOLS.get(protocol_id)
    except Exception:   # noqa: BLE001  (an unimportable evaluation package must not block writing a result)
        return {}
    if obj is None:
        return {}
    if callable(obj) and not isinstance(obj, type):
        obj = obj()   # ids are registered as factories returning the frozen Protocol
    if hasattr(obj, 'describe'):
        items = obj.describe().items()
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        items = dataclasses.asdict(obj).items()
    else:
        items = ((k, getattr(obj, k)) for k in dir(obj) if not k.startswith('_'))
    plain = (str, int, float, bool)
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in items
            if isinstance(v, plain) or (isinstance(v, list | tuple) and all(isinstance(x, plain) for x in v))}


def config_components(model_cfg: Any) -> tuple[list[str], list[str]]:
    """``(components, loss type names)`` found anywhere in the model config (``*Loss`` types)."""
    losses: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            kind = node.get('type')
            if isinstance(kind, str) and kind.endswith('Loss'):
                losses.append(kind)
            for value in node.values():
                walk(value)
        elif isinstance(node, list | tuple):
            for value in node:
                walk(value)

    walk(model_cfg)
    return [COMPONENT_LOSSES[t] for t in losses if t in COMPONENT_LOSSES], losses


def is_zero_shot(cfg: Any) -> bool:
    """A config is test-only when it sets ``zero_shot = True`` or has no (or a ``None``) ``train_cfg``."""
    return bool(cfg.get('zero_shot', False)) or cfg.get('train_cfg') is None


def _scoring(rerank: Mapping | None) -> str:
    # The metric's own label for its re-ranking settings (``RetrievalMetric.scoring``).
    if not rerank:
        return 'embedding cosine'
    try:
        from csa_bench.evaluation.rerank import RerankConfig
        return RerankConfig(**rerank).label()
    except Exception:   # noqa: BLE001  (an invalid rerank dict fails in the test run itself)
        return f'embedding + rerank {dict(rerank)}'


def count_parameters(cfg: Any) -> int:
    """Parameters of the model the config builds (plugins imported as the config's ``custom_imports``)."""
    from mmengine.registry import init_default_scope
    from mmengine.utils import import_modules_from_strings

    from csa_bench.registry import MODELS
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    init_default_scope(cfg.get('default_scope', 'csa_bench'))
    model = MODELS.build(cfg.model)
    return sum(p.numel() for p in model.parameters())


def _checkpoint_seed(checkpoint: str | os.PathLike, unsafe_load: bool = False) -> int | None:
    """The seed in a checkpoint's ``meta``; read as plain data (an unsafe file raises, naming it)."""
    from csa_bench.engine.checkpoint import CorruptCheckpointError, load_checkpoint_file, unsafe_loading
    try:
        with unsafe_loading(unsafe_load):   # mmap: only the small meta dict is read, not the weights
            state = load_checkpoint_file(checkpoint, map_location='cpu', mmap=True)
    except (CorruptCheckpointError, FileNotFoundError):   # no readable meta: no recorded seed
        return None
    seed = state.get('meta', {}).get('seed') if isinstance(state, dict) else None
    return int(seed) if isinstance(seed, int) else None


def result_from_test(outcome: Any, *, config_path: str | os.PathLike, checkpoint: str | os.PathLike | None,
                     train_time_s: float | None = None, seed: int | None = None) -> dict:
    """A result record for an ``api.test`` outcome (``TestOutcome``: metrics, config, test_time_s).

    The seed is ``seed``, else the one mmengine stored in the checkpoint's meta, else the config's.
    """
    cfg = outcome.config
    evaluator = cfg.get('test_evaluator')
    protocol = _first_protocol(evaluator) if evaluator is not None else None
    if protocol is None:
        raise ResultError(config_path, 'test_evaluator.protocol', 'the config names no protocol id')
    dataset_cfg = cfg.test_dataloader.dataset
    components, losses = config_components(cfg.model)
    zero_shot = is_zero_shot(cfg)
    if cfg.get('train_data'):
        train_data = str(cfg.train_data)
    elif zero_shot:
        train_data = 'none (zero-shot)'
    else:
        train_ds = cfg.get('train_dataloader', {}).get('dataset', {})
        train_data = f"{dataset_name(train_ds)} {train_ds.get('split', 'train')}"
    if seed is None and checkpoint is not None:
        seed = _checkpoint_seed(checkpoint, unsafe_load=bool(getattr(outcome, 'unsafe_load', False)))
    if seed is None:
        seed = cfg.get('randomness', {}).get('seed')
    num_params = getattr(outcome, 'num_params', None)
    if num_params is None:
        num_params = count_parameters(cfg)
    tta = (evaluator.get('tta') if isinstance(evaluator, Mapping) else None) or cfg.get('tta') or 'none'
    rerank = evaluator.get('rerank') if isinstance(evaluator, Mapping) else None
    record = make_result(
        outcome.metrics, protocol=protocol, dataset=dataset_name(dataset_cfg),
        split=str(dataset_cfg.get('split', 'test')), method=str(cfg.get('method_name') or
                                                                Path(config_path).stem.split('_')[0]),
        data_root=dataset_cfg.get('data_root'), config=config_path, cfg_hash=config_hash(cfg),
        components=components, losses=losses, zero_shot=zero_shot, protocol_info=_describe_protocol(protocol),
        tta=str(tta), scoring=_scoring(rerank), train_data=train_data, seed=seed, checkpoint=checkpoint,
        num_params=num_params,
        train_time_s=train_time_s, test_time_s=outcome.test_time_s,
        cfg_options=cfg.get('cfg_options'),   # recorded by engine.api.load_config
        per_query=getattr(outcome, 'per_query', None))
    record['pretrained'] = pretrained_files(cfg)
    bad = getattr(outcome, 'bad_samples', None)
    if bad and bad.get('count'):   # samples skipped under on_bad_sample='skip' travel with the numbers
        record['bad_samples'] = bad
    partial = getattr(outcome, 'partial_load', None)
    if partial is not None:   # --allow-partial: the weights may be partly untrained; say how many keys
        record['allow_partial'] = True
        record['partial_load'] = dict(partial)
    return record


# ----------------------------------------------------------------------------- read / write
def validate_result(record: Any, source: str | os.PathLike) -> dict:
    """Check a record against schema 1; returns it. Raises ``ResultError`` naming source and field."""
    if not isinstance(record, dict):
        raise ResultError(source, '<root>', f'expected a JSON object, got {type(record).__name__}')
    if record.get('schema') != SCHEMA:
        raise ResultError(source, 'schema', f'expected {SCHEMA}, got {record.get("schema")!r}')
    for field, kinds in _FIELDS.items():
        if field not in record:
            raise ResultError(source, field, 'missing')
        value = record[field]
        ok = (value is None and None in kinds) or any(
            isinstance(value, k) and not (k is int and isinstance(value, bool))
            for k in kinds if k is not None)
        if not ok:
            expected = '/'.join(getattr(k, '__name__', 'null') for k in kinds)
            raise ResultError(source, field, f'expected {expected}, got {type(value).__name__}')
    for field in ('method', 'protocol', 'dataset', 'split'):
        if not record[field].strip():
            raise ResultError(source, field, 'empty')
    for field, (kinds, default) in _OPTIONAL_FIELDS.items():
        if field not in record:
            record[field] = json.loads(json.dumps(default))   # a fresh copy of the default
        elif not ((record[field] is None and None in kinds)
                  or any(isinstance(record[field], k) for k in kinds if k is not None)):
            raise ResultError(source, field, f'expected {"/".join(getattr(k, "__name__", "null") for k in kinds)}, '
                                             f'got {type(record[field]).__name__}')
    for name, value in record['metrics'].items():
        if value is None and not _K_METRIC.match(name):
            continue   # a non-finite diagnostic (see normalize_metrics); R@K must always be a number
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ResultError(source, f'metrics.{name}', f'expected a finite number, got {value!r}')
        if _PERCENT_METRIC.match(name) and not 0.0 <= value <= 100.0:
            raise ResultError(source, f'metrics.{name}', f'{value!r} is outside [0, 100] (a percentage)')
    # Identity fields are hex digests: anything else is a damaged or forged file (and would be printed).
    for field, value, pattern in (('config_hash', record['config_hash'], _HEX),
                                  ('checkpoint_sha256', record['checkpoint_sha256'], _HEX),
                                  ('annotations.sha256', record['annotations'].get('sha256'), _HEX),
                                  ('git.commit', record['git'].get('commit'), _COMMIT)):
        if value is not None and not (isinstance(value, str) and pattern.match(value)):
            raise ResultError(source, field, f'expected a lowercase hex digest, got {str(value)[:80]!r}')
    try:
        datetime.datetime.fromisoformat(record['date'])
    except ValueError as err:
        raise ResultError(source, 'date', f'expected an ISO 8601 date, got {record["date"][:80]!r}') from err
    if any(not isinstance(k, str) for k in record['cfg_options']):
        raise ResultError(source, 'cfg_options', 'keys must be dotted config keys (strings)')
    for name, digest in record['pretrained'].items():
        if digest is not None and not (isinstance(digest, str) and _HEX.match(digest)):
            raise ResultError(source, f'pretrained.{name}', f'expected a sha256 or null, got {str(digest)[:80]!r}')
    if not record['metrics']:
        raise ResultError(source, 'metrics', 'no metric values')
    for comp in record['components']:
        if comp not in COMPONENTS:
            raise ResultError(source, 'components',
                              f'unknown component {comp!r} (known: {", ".join(COMPONENTS)})')
    if record['config'] is not None and not record['config_hash']:
        raise ResultError(source, 'config_hash', 'missing for a result that names its config')
    for field, keys in (('annotations', ('sha256', 'files')), ('git', ('commit', 'dirty')),
                        ('hardware', ('cpu', 'cpu_count', 'gpu', 'gpu_count'))):
        for key in keys:
            if key not in record[field]:
                raise ResultError(source, f'{field}.{key}', 'missing')
    if 'per_query' in record:
        _validate_per_query(record, source)
    return record


def _validate_per_query(record: dict, source: str | os.PathLike) -> None:
    """``per_query`` is well-formed and reproduces the record's own R@K and ``n_queries`` (module docstring)."""
    data = record['per_query']
    if not isinstance(data, dict):
        raise ResultError(source, 'per_query', f'expected an object, got {type(data).__name__}')
    ids, ranks = data.get('query_ids'), data.get('first_rank')
    if not isinstance(ids, list) or not all(isinstance(q, str) for q in ids):
        raise ResultError(source, 'per_query.query_ids', 'expected a list of strings')
    if ids != sorted(set(ids)):
        raise ResultError(source, 'per_query.query_ids', 'must be sorted and unique')
    if not isinstance(ranks, list) or len(ranks) != len(ids):
        raise ResultError(source, 'per_query.first_rank', f'expected a list of {len(ids)} entries (one per query)')
    for index, rank in enumerate(ranks):
        if rank is not None and (isinstance(rank, bool) or not isinstance(rank, int) or rank < 1):
            raise ResultError(source, f'per_query.first_rank[{index}]', f'expected an int >= 1 or null, got {rank!r}')
    ap = data.get('ap')
    if ap is not None and (not isinstance(ap, list) or len(ap) != len(ids) or not all(
            isinstance(a, int | float) and not isinstance(a, bool) and 0.0 <= a <= 1.0 for a in ap)):
        raise ResultError(source, 'per_query.ap', f'expected {len(ids)} numbers in [0, 1]')
    extra = sorted(set(data) - {'query_ids', 'first_rank', 'ap'})
    if extra:
        raise ResultError(source, f'per_query.{extra[0]}', 'unknown key')
    metrics = record['metrics']
    if 'n_queries' in metrics and metrics['n_queries'] != len(ids):
        raise ResultError(source, 'per_query', f"{len(ids)} queries but metrics.n_queries is {metrics['n_queries']}")
    scale = record['protocol_info'].get('scale', 100.0)
    scale = scale if isinstance(scale, int | float) and not isinstance(scale, bool) else 100.0
    for name, value in metrics.items():
        match = re.match(r'^(?:R@|top)(\d+)$', name)
        if not match or value is None or not ids:
            continue
        k = int(match.group(1))
        recomputed = scale * sum(1 for r in ranks if r is not None and r <= k) / len(ids)
        if abs(recomputed - value) > 1e-6 * max(1.0, abs(value)):
            raise ResultError(source, 'per_query',
                              f'gives {name} = {recomputed:.4f} but metrics.{name} is {value}: the per-query '
                              'outcome does not belong to these metrics')


def write_result(path: str | os.PathLike, record: dict) -> None:
    """Validate and write ``record`` atomically as sorted, indented JSON."""
    write_json_atomic(path, validate_result(record, path))


def load_result(path: str | os.PathLike) -> dict:
    """Read and validate one result file. Raises ``ResultError`` naming the file and the field."""
    try:
        record = json.loads(Path(path).read_text(encoding='utf-8'))
    except OSError as err:
        raise ResultError(path, '<file>', f'cannot read: {err.strerror or err}') from err
    except json.JSONDecodeError as err:
        raise ResultError(path, '<json>', f'not valid JSON (line {err.lineno}: {err.msg})') from err
    return validate_result(record, path)
