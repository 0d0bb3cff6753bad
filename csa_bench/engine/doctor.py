"""Preflight checks before a run (``csa-bench doctor``, and ``reproduce`` before a real-data suite).

For each config: its datasets (the ``data check`` machinery of the format tool in ``DATA_TOOLS``
whose ``dataset_type`` matches the config's dataset ``type``), its pretrained weights (present, and
the published sha256 of :mod:`csa_bench.weights` where there is one), then once for the machine: the
GPU, CUDA/NCCL/driver versions and the free disk under the work dir. Every miss carries the exact
fix (the variable to set, the command to run, the URL to download).

Rules:
- Synthetic configs (``synthetic`` in the file name or the data root, as ``reproduce`` tells them
  apart) need no GPU: a CPU-only machine is a warning there, a failure for real-data configs.
- ``data='quick'`` parses the annotations and resolves every ground-truth id without opening a
  media file (seconds); ``'full'`` is exactly ``csa-bench data check`` (opens every file);
  ``'skip'`` checks only that the data root exists.
- A check is ``ok``, ``warn`` (reported, never fails) or ``fail``; a report passes when none failed.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Free space (GiB) wanted under the work dir: checkpoints of a full-size model with optimiser
#: state are ~1-2 GB each and a run keeps a few; synthetic runs write kilobytes to megabytes.
MIN_FREE_GB = {'real': 20.0, 'synthetic': 1.0}
DATA_MODES = ('quick', 'full', 'skip')
#: Errors of a data check shown per config (the full list: ``csa-bench data check``).
_SHOWN_ERRORS = 3


@dataclass
class Check:
    """One verdict: ``status`` is ``'ok'``, ``'warn'`` or ``'fail'``; ``fix`` says what to do on a miss."""

    name: str
    status: str
    detail: str
    fix: str = ''


@dataclass
class Report:
    """The checks of one config (``config`` is ``None`` for the machine-wide checks)."""

    config: str | None
    synthetic: bool = False
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no check failed."""
        return all(c.status != 'fail' for c in self.checks)


def is_synthetic(config: str | os.PathLike, data_roots: Iterable[str] = ()) -> bool:
    """A synthetic-data config: ``synthetic`` in its file name or in a data root."""
    return 'synthetic' in Path(config).name or any('synthetic' in Path(r).name for r in data_roots)


# ----------------------------------------------------------------------------- config contents
def _datasets(cfg: Any) -> list[dict]:
    """The distinct dataset dicts of the config's train/val/test dataloaders (by type and root)."""
    found: dict[tuple, dict] = {}
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(key)
        dataset = loader.get('dataset') if isinstance(loader, Mapping) else None
        if isinstance(dataset, Mapping) and dataset.get('type'):
            found.setdefault((str(dataset['type']), str(dataset.get('data_root', ''))), dict(dataset))
    return list(found.values())


def _env_value(cfg: Any, var: str) -> tuple[str | None, bool]:
    """``(value, from_environment)`` of a ``{{$VAR:default}}`` location the config used."""
    from csa_bench.identity import path_substitutions

    for value, placeholder in path_substitutions(cfg):
        if placeholder == f'{{{{${var}}}}}':
            return value, var in (getattr(cfg, 'env_variables', None) or {})
    return None, False


def _pretrained_paths(cfg: Any) -> list[str]:
    """Every config string that points under the config's ``$CSA_PRETRAINED`` location, in order."""
    location, _ = _env_value(cfg, 'CSA_PRETRAINED')
    if location is None:
        return []
    prefix = location.rstrip('/') + '/'
    found: dict[str, None] = {}

    def walk(node: Any) -> None:
        if isinstance(node, str) and node.startswith(prefix):
            found.setdefault(node)
        elif isinstance(node, Mapping):
            for value in node.values():
                walk(value)
        elif isinstance(node, list | tuple):
            for value in node:
                walk(value)

    walk(cfg.to_dict() if hasattr(cfg, 'to_dict') else dict(cfg))
    return list(found)


# ----------------------------------------------------------------------------- checks
def _data_tool(dataset_type: str):
    """The data tool of a dataset type, or of its nearest registered base class (``LPR4MV1Dataset`` reads
    an LPR4M root: the ``lpr4m`` tool checks it); ``None`` when no tool fits."""
    from csa_bench.plugin_loader import load_plugins
    from csa_bench.registry import DATA_TOOLS, DATASETS

    load_plugins()
    cls = DATASETS.get(dataset_type)
    lineage = [c.__name__ for c in cls.__mro__] if isinstance(cls, type) else [dataset_type]
    tools = {getattr(tool, 'dataset_type', None): tool for tool in DATA_TOOLS.module_dict.values()}
    return next((tools[name] for name in lineage if name in tools), None)


def _root_fix(cfg: Any, root: str, fmt: str | None, synthetic: bool) -> str:
    """How to provide a missing data root: the variable that moves it, the command that fills it."""
    data_env, from_env = _env_value(cfg, 'CSA_DATA_ROOT')
    hint = ''
    if data_env is not None and root.startswith(data_env.rstrip('/') + '/'):
        sub = root[len(data_env.rstrip('/')) + 1:]
        hint = (f'set CSA_DATA_ROOT to the folder holding {sub}/ (now {data_env!r}, '
                f'{"from the environment" if from_env else "the config default"}), or ')
    if fmt is None:
        return hint + f'create {root}'
    if synthetic:
        return hint + f'run `csa-bench data synth --format {fmt} --out {root}`'
    return hint + f'run `csa-bench data prepare {fmt} --out {root}` (docs/data_preparation.md)'


def check_data(cfg: Any, synthetic: bool, mode: str = 'quick', workers: int = 1) -> list[Check]:
    """One check per distinct (dataset type, data root) of the config (rules in the module docstring)."""
    checks, seen = [], set()
    for dataset in _datasets(cfg):
        root, dtype = str(dataset.get('data_root', '')), str(dataset['type'])
        tool = _data_tool(dtype)
        fmt = getattr(tool, 'name', None)
        name = f'data {fmt or dtype}'
        if (name, root) in seen:   # e.g. a V1 test dataset over the root the training set already covers
            continue
        seen.add((name, root))
        if not root or not Path(root).is_dir():
            checks.append(Check(name, 'fail', f'data root {root or "(unset)"} not found',
                                _root_fix(cfg, root, fmt, synthetic)))
            continue
        if mode == 'skip':
            checks.append(Check(name, 'ok', f'{root} exists (contents not checked: --data skip)'))
            continue
        if tool is None:
            checks.append(Check(name, 'warn', f'{root} exists; no data tool checks {dtype} datasets',
                                'register one in DATA_TOOLS with dataset_type = ' + repr(dtype)))
            continue
        report = tool.check(Path(root), workers=workers, progress=False, verify_files=mode == 'full')
        what = 'annotations and files' if mode == 'full' else 'annotations (media files not opened)'
        if report.ok:
            counts = ', '.join(f'{k} {v}' for k, v in sorted(report.counts.items()))
            checks.append(Check(name, 'warn' if report.warnings else 'ok',
                                f'{root}: {what} OK ({report.layout}; {counts})'
                                + (f'; {len(report.warnings)} warning(s)' if report.warnings else '')))
        else:
            shown = '; '.join(report.errors[:_SHOWN_ERRORS])
            more = len(report.errors) - _SHOWN_ERRORS
            checks.append(Check(name, 'fail', f'{root}: {len(report.errors)} error(s): {shown}'
                                + (f'; … {more} more' if more > 0 else ''),
                                f'run `csa-bench data check {root} --format {fmt}` for the full list; '
                                + _root_fix(cfg, root, fmt, synthetic).split(', or ')[-1]))
    return checks


def check_weight_file(path: str | os.PathLike) -> Check:
    """Presence and (where published) sha256 of one pretrained file, with the fix for a miss."""
    from csa_bench.results import sha256_file
    from csa_bench.weights import weight_entry

    path = Path(path)
    entry = weight_entry(path.name)
    name = f'weights {path.name}'
    get = (f'download {entry.url} and save it as {path}' + (f' ({entry.note})' if entry.note else '')
           if entry else f'{path.name} is not in the weights manifest (csa_bench/weights.py); place it at {path}')
    move = f', or set CSA_PRETRAINED to the folder that holds {path.name}'
    if not path.is_file():
        return Check(name, 'fail', f'{path} not found', get + move)
    if entry is None:
        return Check(name, 'warn', f'{path} present; not in the weights manifest, so not verified',
                     'add an entry to csa_bench/weights.py')
    if entry.sha256 is None and entry.sha256_prefix is None:
        return Check(name, 'ok', f'{path} present (no sha256 published for it: not verified; {entry.licence})')
    digest = sha256_file(path)
    expected = entry.sha256 or entry.sha256_prefix
    if not digest.startswith(expected):
        kind = 'sha256' if entry.sha256 else 'sha256 prefix in the published file name'
        return Check(name, 'fail', f'{path}: sha256 {digest} does not match the published {kind} {expected}',
                     f'the file is corrupt or another release: {get}')
    return Check(name, 'ok', f'{path} present, sha256 verified ({entry.licence})')


def check_weights(cfg: Any) -> list[Check]:
    """One check per pretrained file the config names (and for ``load_from`` when set)."""
    checks = [check_weight_file(p) for p in _pretrained_paths(cfg)]
    load_from = cfg.get('load_from')
    if load_from and not Path(str(load_from)).is_file():
        checks.append(Check('checkpoint load_from', 'fail', f'{load_from} not found',
                            'pass an existing checkpoint (--cfg-options load_from=PATH) or unset load_from'))
    return checks


def _driver_version() -> str | None:
    if shutil.which('nvidia-smi') is None:
        return None
    try:
        done = subprocess.run(['nvidia-smi', '--query-gpu=driver_version', '--format=csv,noheader'],
                              capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = done.stdout.split()
    return lines[0] if done.returncode == 0 and lines else None


def check_gpu(required: bool) -> Check:
    """CUDA devices, CUDA/NCCL/driver versions; no GPU fails only when ``required``."""
    import torch

    if not torch.cuda.is_available():
        driver = _driver_version()
        detail = 'no CUDA GPU visible to torch' + (f' (nvidia-smi reports driver {driver})' if driver else '')
        if torch.version.cuda is None:
            detail += f'; this torch ({torch.__version__}) is a CPU-only build'
        fix = ('run on a machine with an NVIDIA GPU: `nvidia-smi` must list it, CUDA_VISIBLE_DEVICES must not '
               'hide it' + ('' if torch.version.cuda else ', and install a CUDA build of torch'))
        return Check('gpu', 'fail' if required else 'warn',
                     detail + ('' if required else ' (synthetic configs run on CPU)'), fix)
    count = torch.cuda.device_count()
    names = sorted({torch.cuda.get_device_name(i) for i in range(count)})
    nccl = None
    try:
        version = torch.cuda.nccl.version()
        nccl = '.'.join(map(str, version)) if isinstance(version, tuple) else str(version)
    except Exception:  # noqa: BLE001  (torch without NCCL, e.g. Windows builds: reported, not fatal)
        nccl = None
    detail = (f'{count} GPU(s): {", ".join(names)}; CUDA {torch.version.cuda}; driver {_driver_version() or "?"}; '
              f'NCCL {nccl or "unavailable"}')
    if nccl is None and count > 1:
        return Check('gpu', 'warn', detail, 'multi-GPU training needs NCCL: install a torch build with NCCL')
    return Check('gpu', 'ok', detail)


def check_disk(path: str | os.PathLike, min_free_gb: float) -> Check:
    """Free space on the file system that will hold ``path`` (its nearest existing parent)."""
    where = Path(os.path.abspath(path))
    while not where.exists() and where != where.parent:
        where = where.parent
    free = shutil.disk_usage(where).free / 2**30
    detail = f'{free:.1f} GiB free under {where} (want >= {min_free_gb:g} GiB)'
    if free < min_free_gb:
        return Check('disk', 'fail', detail, f'free space on {where} or pass another --work-dir')
    return Check('disk', 'ok', detail)


# ----------------------------------------------------------------------------- entry points
def inspect_config(config: str | os.PathLike, data: str = 'quick', workers: int = 1) -> Report:
    """The data and weights checks of one config file (a config that does not load is one failure)."""
    from csa_bench.engine.api import ConfigError, load_config

    if data not in DATA_MODES:
        raise ValueError(f'data mode must be one of {DATA_MODES}, got {data!r}')
    try:
        cfg = load_config(config)
    except (ConfigError, SyntaxError, KeyError, ValueError) as err:
        return Report(str(config), checks=[Check('config', 'fail', f'cannot load: {err}', 'fix the config file')])
    roots = [str(d.get('data_root', '')) for d in _datasets(cfg)]
    report = Report(str(config), synthetic=is_synthetic(config, roots))
    report.checks += check_data(cfg, report.synthetic, data, workers)
    report.checks += check_weights(cfg)
    return report


def machine_report(work_dir: str | os.PathLike, gpu_required: bool, min_free_gb: float | None = None) -> Report:
    """GPU and disk checks (``min_free_gb`` default: :data:`MIN_FREE_GB` for the kind of run)."""
    if min_free_gb is None:
        min_free_gb = MIN_FREE_GB['real' if gpu_required else 'synthetic']
    return Report(None, checks=[check_gpu(gpu_required), check_disk(work_dir, min_free_gb)])


def manifest_report(folder: str | os.PathLike) -> Report:
    """Every file of the weights manifest under ``folder`` (``doctor`` without configs)."""
    from csa_bench.weights import WEIGHTS

    return Report(f'weights manifest in {folder}', checks=[check_weight_file(Path(folder) / f) for f in WEIGHTS])


def run_doctor(configs: Iterable[str | os.PathLike], work_dir: str | os.PathLike = 'work_dirs',
               data: str = 'quick', workers: int = 1, min_free_gb: float | None = None) -> list[Report]:
    """All reports: one per config, then the machine's (the GPU is required when any config is real data)."""
    reports = [inspect_config(c, data, workers) for c in configs]
    gpu_required = any(not r.synthetic for r in reports)
    if not reports:
        reports.append(manifest_report(os.environ.get('CSA_PRETRAINED', 'pretrained')))
        gpu_required = True
    reports.append(machine_report(work_dir, gpu_required, min_free_gb))
    return reports


def pretrained_names(config_text: str) -> list[str]:
    """The file names a config's text places under ``{{$CSA_PRETRAINED:...}}`` (for the manifest test)."""
    return re.findall(r"\{\{\$CSA_PRETRAINED:[^}]*\}\}/([\w.\-]+)", config_text)
