"""The few lines ``train`` and ``test`` print before running: what runs, where, on what (issue 17)."""
from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any


def _pretrained(node: Any) -> Iterator[str]:
    """Every ``pretrained`` path in a (nested) model config."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == 'pretrained' and isinstance(value, str):
                yield value
            else:
                yield from _pretrained(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _pretrained(value)


def header_lines(cfg, *, checkpoint: str | None = None, seed: int | None = None) -> list[str]:
    """``config / work dir / data / weights / processes, seed`` of a loaded config, one line each.

    ``cfg`` is an mmengine ``Config`` (``csa_bench.engine.api.load_config``); the world size is the
    launcher's ``WORLD_SIZE`` (1 without one)."""
    roots = []
    for key in ('train_dataloader', 'test_dataloader'):
        root = ((cfg.get(key) or {}).get('dataset') or {}).get('data_root')
        if root and root not in roots:
            roots.append(str(root))
    weights = [checkpoint] if checkpoint else sorted(set(_pretrained(cfg.get('model', {}))))
    seed = seed if seed is not None else (cfg.get('randomness') or {}).get('seed')
    return [f'config:   {cfg.filename}',
            f'work dir: {cfg.work_dir}',
            f'data:     {", ".join(roots) or "(none)"}',
            f'weights:  {", ".join(weights) or "random initialisation"}',
            f'processes: {os.environ.get("WORLD_SIZE", "1")}, seed {seed}']
