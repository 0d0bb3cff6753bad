"""What to do about missing data, appended to the CLI's one-line errors (issue 17).

A dataset that finds no annotation file only knows the file; the CLI also knows the config, hence
the dataset root, whether it is a synthetic one (then the exact ``csa-bench data synth`` command
regenerates it) and which variable moves it (``$CSA_DATA_ROOT``).
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path

from csa_bench.utils.hints import env_value

SYNTHETIC_PREFIX = 'synthetic-'   # configs/_base_/datasets/synthetic_*.py: $CSA_DATA_ROOT/synthetic-<format>
#: The datasets' missing-annotation messages: ``<file>: annotation file not found`` and
#: ``<dir>: no LPR4M <split> annotations found (...)``.
MISSING = re.compile(r'\bnot found\b|\bno \S+ \S+ annotations found\b')


def config_data_roots(args: argparse.Namespace) -> list[Path]:
    """The ``data_root`` of each dataloader's dataset in ``args.config`` (after ``--cfg-options``), in
    train, val, test order without repeats; empty when the config cannot be read."""
    from csa_bench.engine.api import ConfigError, load_config

    try:
        cfg = load_config(args.config, getattr(args, 'cfg_options', None))
    except (ConfigError, OSError):
        return []
    roots: list[Path] = []
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(key) or {}
        root = (loader.get('dataset') or {}).get('data_root') if hasattr(loader, 'get') else None
        if root and Path(root) not in roots:
            roots.append(Path(root))
    return roots


def data_hint(root: Path) -> str:
    """``'; <what to do>'`` for a dataset root whose annotations are missing."""
    where = f'or point $CSA_DATA_ROOT at the folder holding {root.name}/ ({env_value("CSA_DATA_ROOT", "data")})'
    if root.name.startswith(SYNTHETIC_PREFIX):
        fmt = root.name[len(SYNTHETIC_PREFIX):]
        return f'; generate it with `csa-bench data synth --format {fmt} --out {root}`, {where}'
    return (f'; put the official {root.name} release in {root} (README, section Datasets, lists its files), '
            f'{where}')


def missing_data_hint(args: argparse.Namespace, message: str) -> str:
    """The hint for an error about missing annotations of ``args.config``'s data; '' when it is not one."""
    if not MISSING.search(message) or not getattr(args, 'config', None):
        return ''
    roots = config_data_roots(args)
    named = [r for r in roots if str(r) in message] or roots
    return data_hint(named[0]) if named else ''
