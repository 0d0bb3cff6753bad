"""``--cfg-options`` that cannot silently mislead: every key is checked against the config before it is
merged, and the LR schedule follows an overridden ``train_cfg.max_iters``.

**Key rule** (:func:`override_problems`). Each dotted key is walked through the config as loaded:

- a segment that exists is followed (a list takes an integer index inside its length);
- the first absent segment is accepted only when its parent is

  * the config root and the key is one the Runner or csa_bench reads (:data:`RUNTIME_KEYS`); nothing
    below such a new key can be checked;
  * a ``type=`` component whose registered class accepts that keyword (its ``__init__`` chain, read by
    :func:`csa_bench.engine.validation.accepted_params`; a class that passes ``**kwargs`` on to a
    library accepts any key, the library then judges it);
  * a dict of named components (every value has a ``type``, e.g. ``default_hooks``) when the same
    overrides set the new entry's ``type`` (``default_hooks.mine.type=MyHook``): a new component;

  anything else is an unknown key: the error names the path and suggests the closest keys (difflib);
- a top-level key that the config file defines but nobody reads (a file variable such as ``max_iters``,
  ``batch_size`` or ``data_root``: its value was copied where the file used it when the file was read,
  so overriding it changes nothing) is refused, naming the keys that hold the copied value;
- a key below a value that is neither a dict nor a list (e.g. under ``val_dataloader=None``) is refused.

**Schedule rule** (:func:`follow_max_iters`). When an override moves ``train_cfg.max_iters`` from M to
N, every iteration count of the LR/momentum schedule is rescaled by N/M, so the schedule keeps its
shape (warmup fraction, cosine to the end) as the shipped configs write it (``warmup_iters`` = 10% of
``max_iters``): ``begin``/``end`` (an ``end`` of M becomes exactly N), ``T_max`` (``end - begin`` when it
was so, else scaled), ``milestones``, ``step_size``, ``total_steps``. ``train_cfg.val_interval``,
``default_hooks.checkpoint.interval`` and the top-level ``max_iters`` variable follow when they equalled
M. Keys given explicitly in the same overrides are never changed. A scheduler counted in epochs, or of
a type whose iteration arguments are not known here, stops the run with an error saying what to set.
"""
from __future__ import annotations

import difflib
import inspect
from collections.abc import Mapping
from typing import Any

from csa_bench import registry as R

from .validation import accepted_params

#: Top-level keys that something reads: mmengine's ``Runner`` (its ``__init__`` arguments and the
#: ``cfg.get`` calls of ``Runner.from_cfg`` / ``wrap_model``) and csa_bench itself (results, batch plan).
RUNTIME_KEYS = frozenset({
    'model', 'work_dir', 'train_dataloader', 'val_dataloader', 'test_dataloader', 'train_cfg', 'val_cfg',
    'test_cfg', 'auto_scale_lr', 'optim_wrapper', 'param_scheduler', 'val_evaluator', 'test_evaluator',
    'default_hooks', 'custom_hooks', 'data_preprocessor', 'load_from', 'resume', 'launcher', 'env_cfg',
    'log_processor', 'log_level', 'visualizer', 'default_scope', 'randomness', 'experiment_name',
    'model_wrapper_cfg', 'find_unused_parameters', 'sync_bn', 'compile', 'activation_checkpointing',
    'efficient_conv_bn_eval', 'custom_imports',
    # csa_bench: result provenance (csa_bench.results) and the global batch (engine.distributed).
    'method_name', 'zero_shot', 'train_data', 'tta', 'global_batch_size',
})
_REGISTRIES = (R.MODELS, R.DATASETS, R.TRANSFORMS, R.DATA_SAMPLERS, R.METRICS, R.EVALUATOR, R.HOOKS, R.LOOPS,
               R.OPTIMIZERS, R.OPTIM_WRAPPERS, R.OPTIM_WRAPPER_CONSTRUCTORS, R.PARAM_SCHEDULERS, R.FUNCTIONS)
# Iteration-valued arguments per scheduler family (the LR / Momentum / Param variants share them).
_SCHEDULE_ITER_ARGS = {'LinearLR': (), 'ConstantLR': (), 'PolyLR': (), 'CosineAnnealingLR': ('T_max',),
                       'MultiStepLR': ('milestones',), 'StepLR': ('step_size',), 'OneCycleLR': ('total_steps',)}


class OverrideError(ValueError):
    """An override that would be ignored, or that leaves the config inconsistent (one line)."""


# ------------------------------------------------------------------------------ keys
def _root(cfg: Any) -> Mapping:
    # An mmengine Config is not a Mapping; its ConfigDict is (a dict subclass).
    return cfg if isinstance(cfg, Mapping) else cfg._cfg_dict


def _suggest(key: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(key, candidates, n=3, cutoff=0.6)
    return f'; did you mean {" or ".join(repr(c) for c in close)}?' if close else ''


def _component(type_name: Any) -> Any:
    if not isinstance(type_name, str):
        return type_name if callable(type_name) else None
    for registry in _REGISTRIES:
        found = registry.get(type_name)
        if found is not None:
            return found
    return None


def _paths_ending(node: Any, name: str, prefix: str = '') -> list[str]:
    """Dotted paths (below the root) whose last key is ``name``: where a file variable was copied."""
    found = []
    if isinstance(node, Mapping):
        for key, value in node.items():
            path = f'{prefix}.{key}' if prefix else str(key)
            if key == name and prefix:
                found.append(path)
            found += _paths_ending(value, name, path)
    elif isinstance(node, list | tuple):
        for index, value in enumerate(node):
            found += _paths_ending(value, name, f'{prefix}.{index}')
    return found


def _named_components(node: Mapping) -> bool:
    """``node`` maps names to components (``default_hooks``): every value is a dict with a ``type``."""
    return bool(node) and 'type' not in node and all(isinstance(v, Mapping) and 'type' in v for v in node.values())


def _check_key(cfg: Mapping, key: str, new_components: frozenset[str] = frozenset()) -> str | None:
    parts = key.split('.')
    if parts[0] in cfg and parts[0] not in RUNTIME_KEYS:
        copies = _paths_ending({k: v for k, v in cfg.items() if k != parts[0]}, parts[0])
        where = f' (override {", ".join(copies[:3])} instead)' if copies else ''
        return (f'{parts[0]}: a variable of the config file, already substituted where the file used it; '
                f'overriding it changes nothing{where}')
    node: Any = cfg
    shown = ''   # the path so far as validation.py prints it: model.losses[0].loss_weight
    for depth, part in enumerate(parts):
        parent, path = shown or '<root>', (f'{shown}.{part}' if shown else part)
        if part == '_delete_':
            return None
        if isinstance(node, list | tuple):
            if not part.lstrip('-').isdigit() or not -len(node) <= int(part) < len(node):
                return f'{parent}.{part}: {parent} is a list of {len(node)}; use an index 0..{len(node) - 1}'
            node, shown = node[int(part)], f'{shown}[{int(part)}]'
            continue
        if not isinstance(node, Mapping):
            return f'{path}: {parent} is {node!r:.40}, not a dict: nothing to set under it'
        if part in node:
            node, shown = node[part], path
            continue
        if depth == 0:
            if part in RUNTIME_KEYS:
                return None
            return f'{key}: unknown top-level key {part!r}{_suggest(part, sorted(set(node) | RUNTIME_KEYS))}'
        if path in new_components and _named_components(node):
            return None   # a new named component (e.g. a hook), its ``type`` set by the same overrides
        target = _component(node.get('type'))
        params, is_open = accepted_params(target) if target is not None else ({}, False)
        if part in params or is_open:
            return None
        owner = f' for {getattr(target, "__name__", target)}' if target is not None else ''
        candidates = sorted({str(k) for k in node if k not in ('type', '_scope_')} | set(params))
        hint = _suggest(part, candidates) or (f'; valid keys: {", ".join(candidates[:15])}'
                                              + (', ...' if len(candidates) > 15 else '') if candidates else '')
        return f'{path}: unknown key{owner}{hint}'
    return None


def override_problems(cfg: Mapping, cfg_options: Mapping[str, Any]) -> list[str]:
    """One message per override key that would be ignored or is unknown (rules in the module docstring)."""
    root = _root(cfg)
    new_components = frozenset(str(key)[:-len('.type')] for key in cfg_options if str(key).endswith('.type'))
    return [problem for key in cfg_options if (problem := _check_key(root, str(key), new_components))]


# ------------------------------------------------------------------------------ schedule
def _family(type_name: Any) -> str | None:
    name = type_name if isinstance(type_name, str) else getattr(type_name, '__name__', '')
    for suffix in ('LR', 'Momentum', 'ParamScheduler'):
        if name.endswith(suffix):
            base = name[:-len(suffix)] + 'LR'
            return base if base in _SCHEDULE_ITER_ARGS else None
    return None


def _scaled(value: int, ratio: float, floor: int = 0) -> int:
    return max(floor, round(value * ratio))


def follow_max_iters(cfg: Any, old: int, new: int, explicit: set[str]) -> list[str]:
    """Rescale the schedule of ``cfg`` (in place) from ``old`` to ``new`` iterations; returns the keys
    it changed. Raises ``OverrideError`` when a scheduler cannot be rescaled (module docstring)."""
    changed: list[str] = []
    cfg = _root(cfg)

    def put(node: Any, key: str, path: str, value: Any) -> None:
        if path not in explicit and node.get(key) != value:
            node[key] = value
            changed.append(path)

    ratio = new / old
    schedulers = cfg.get('param_scheduler')
    entries = [(i, s) for i, s in enumerate(schedulers)] if isinstance(schedulers, list | tuple) else (
        [(None, schedulers)] if isinstance(schedulers, Mapping) else [])
    for index, sched in entries:
        prefix = 'param_scheduler' if index is None else f'param_scheduler.{index}'
        if not isinstance(sched, Mapping) or prefix in explicit:
            continue
        family = _family(sched.get('type'))
        hint = (f'set {prefix}.begin/end explicitly in --cfg-options, or edit the config file')
        if sched.get('by_epoch', True) and not sched.get('convert_to_iter_based', False):
            raise OverrideError(f'train_cfg.max_iters={new}: {prefix} ({sched.get("type")}) counts epochs '
                                f'(by_epoch is not False), so it cannot follow iterations; {hint}')
        if family is None:
            raise OverrideError(f'train_cfg.max_iters={new}: {prefix} ({sched.get("type")}) has no known '
                                f'iteration arguments to rescale; {hint}')
        begin, end = int(sched.get('begin', 0)), sched.get('end')
        new_begin = _scaled(begin, ratio)
        put(sched, 'begin', f'{prefix}.begin', new_begin)
        new_begin = int(sched.get('begin', 0))
        if isinstance(end, int) and end < 10**9:   # mmengine's default end is INF: runs to the last iter
            put(sched, 'end', f'{prefix}.end', new if end == old else _scaled(end, ratio, new_begin + 1))
        new_end = sched.get('end')
        for arg in _SCHEDULE_ITER_ARGS[family]:
            value = sched.get(arg)
            if arg == 'T_max' and isinstance(value, int) and isinstance(end, int) and value == end - begin:
                put(sched, arg, f'{prefix}.{arg}', int(new_end) - new_begin)
            elif isinstance(value, int):
                put(sched, arg, f'{prefix}.{arg}', new if value == old else _scaled(value, ratio, 1))
            elif isinstance(value, list | tuple):
                put(sched, arg, f'{prefix}.{arg}', [_scaled(v, ratio, 1) for v in value])
        if new_begin >= new:
            raise OverrideError(f'train_cfg.max_iters={new}: {prefix} ({sched.get("type")}) would begin at '
                                f'iteration {new_begin}, after training ends; {hint}')
    for path in ('train_cfg.val_interval', 'default_hooks.checkpoint.interval'):
        head, _, rest = path.rpartition('.')
        node = cfg
        for part in head.split('.'):
            node = node.get(part) if isinstance(node, Mapping) else None
        if isinstance(node, Mapping) and node.get(rest) == old:
            put(node, rest, path, new)
    if cfg.get('max_iters') == old:   # the file variable, so the dumped config does not contradict itself
        put(cfg, 'max_iters', 'max_iters', new)
    return changed


# ------------------------------------------------------------------------------ entry point
def apply_overrides(cfg: Any, cfg_options: Mapping[str, Any], source: str) -> list[str]:
    """Check, merge and follow ``cfg_options`` on a loaded mmengine ``Config`` (in place).

    Records the overrides as ``cfg.cfg_options`` (they travel into result files) and returns the keys
    the schedule rule derived. Raises ``OverrideError`` (one line, naming ``source``) on any problem.
    """
    problems = override_problems(cfg, cfg_options)
    if problems:
        raise OverrideError(f'{source}: --cfg-options: ' + ' | '.join(problems))
    old = (cfg.get('train_cfg') or {}).get('max_iters') if isinstance(cfg.get('train_cfg'), Mapping) else None
    try:
        cfg.merge_from_dict(dict(cfg_options))
    except (TypeError, KeyError, ValueError, IndexError) as err:
        raise OverrideError(f'{source}: --cfg-options do not apply: {err}') from err
    train_cfg = cfg.get('train_cfg')
    new = train_cfg.get('max_iters') if isinstance(train_cfg, Mapping) else None
    derived: list[str] = []
    if isinstance(old, int) and isinstance(new, int) and new != old:
        if new < 1:
            raise OverrideError(f'{source}: train_cfg.max_iters must be >= 1, got {new}')
        try:
            derived = follow_max_iters(cfg, old, new, {str(k) for k in cfg_options})
        except OverrideError as err:
            raise OverrideError(f'{source}: {err}') from err
    cfg.cfg_options = dict(cfg_options)
    return derived


def runner_keys() -> set[str]:
    """``Runner.__init__``'s arguments (kept in :data:`RUNTIME_KEYS`; a test checks they agree)."""
    from mmengine.runner import Runner
    return {name for name in inspect.signature(Runner.__init__).parameters if name not in ('self', 'cfg')}
