"""Check a config against the registered classes it names, before any Runner is built.

Every dict with a ``type`` key in the method and data sections (``model``, the three dataloaders'
``dataset`` and ``sampler``, dataset ``pipeline`` entries, the evaluators, ``default_hooks`` and
``custom_hooks``) is matched against the ``__init__`` signature of the class its registry returns:

- a key the class does not accept -> ``model.losses[1].num_heads: unknown key for PMDLoss; valid
  keys: ...``. ``**kwargs`` forwarded to ``super().__init__`` (read from the source) extends the
  valid keys with the parent's; ``**kwargs`` that go elsewhere (e.g. to ``timm.create_model``)
  make the class accept any key;
- a value whose type contradicts a simple annotation (int, float, bool, str, None, list/tuple,
  dict, ``Literal`` and unions of those) -> ``...: expected int, got float 8.5``. Other
  annotations are not judged, so a valid config never fails here.

Nested typed dicts are checked recursively when some registry knows their type; an unknown type
at a section root is reported (mmengine would fail later without the key path).
"""
from __future__ import annotations

import ast
import collections.abc as cabc
import functools
import inspect
import os
import textwrap
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import torch
from mmengine.registry import Registry

from csa_bench import registry as R

_SPECIAL_KEYS = {'type', '_scope_', '_delete_'}
# Keys whose value is built by another mechanism (mmengine's weight initialisers): not checked.
_OPAQUE_KEYS = {'init_cfg'}
_CLOSED_INITS = {object.__init__, torch.nn.Module.__init__}
_SEARCH_ORDER = (R.MODELS, R.TRANSFORMS, R.DATASETS, R.DATA_SAMPLERS, R.METRICS, R.EVALUATOR, R.HOOKS,
                 R.FUNCTIONS, R.LOOPS, R.PARAM_SCHEDULERS)


# ------------------------------------------------------------------------------ accepted keywords
def _forwards_kwargs_to_super(init: Callable, varkw: str) -> bool | None:
    """Does ``init`` pass ``**varkw`` to a parent ``__init__``? None when the source is unavailable."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(init)))
    except (OSError, TypeError, SyntaxError):
        return None
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == '__init__'
                and any(k.arg is None and isinstance(k.value, ast.Name) and k.value.id == varkw
                        for k in node.keywords)):
            return True
    return False


@functools.cache
def accepted_params(target: Callable) -> tuple[dict[str, inspect.Parameter], bool]:
    """Keyword parameters a class (its ``__init__`` chain) or function accepts, and whether it is open.

    Returns:
        ``(params, open)``: name -> ``inspect.Parameter`` (of the class that declares it), and True
        when any key is accepted (``**kwargs`` not traceable to a parent ``__init__``).
    """
    if not isinstance(target, type):
        return _own_params(target)
    params: dict[str, inspect.Parameter] = {}
    mro = [c for c in target.__mro__ if '__init__' in c.__dict__]
    for position, owner in enumerate(mro):
        init = owner.__dict__['__init__']
        if init in _CLOSED_INITS:
            return params, False
        own, is_open = _own_params(init)
        for name, param in own.items():
            params.setdefault(name, param)
        if not is_open:
            return params, False
        varkw = next(p.name for p in inspect.signature(init).parameters.values() if p.kind is p.VAR_KEYWORD)
        if not _forwards_kwargs_to_super(init, varkw) or position + 1 == len(mro):
            return params, True
    return params, True


def _own_params(func: Callable) -> tuple[dict[str, inspect.Parameter], bool]:
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return {}, True
    params = {name: p for name, p in list(signature.parameters.items())
              if name != 'self' and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    is_open = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
    return params, is_open


# ------------------------------------------------------------------------------ simple type checks
def _resolve(annotation: Any, owner: Callable) -> Any:
    if isinstance(annotation, str):
        module = inspect.getmodule(owner)
        try:
            return eval(annotation, dict(vars(module)) if module else {})  # noqa: S307  (annotation text)
        except Exception:  # noqa: BLE001  (an annotation we cannot evaluate is simply not checked)
            return inspect.Parameter.empty
    return annotation


def type_matches(value: Any, annotation: Any) -> bool | None:
    """True/False when ``annotation`` is simple enough to judge ``value``; None when it is not."""
    if annotation is inspect.Parameter.empty or annotation is Any:
        return True
    if annotation is None or annotation is type(None):
        return value is None
    origin = typing.get_origin(annotation)
    if origin is typing.Union or isinstance(annotation, types.UnionType):
        results = [type_matches(value, arg) for arg in typing.get_args(annotation)]
        return True if any(r is True for r in results) else (None if None in results else False)
    if origin is typing.Literal:
        return value in typing.get_args(annotation)
    base = origin or annotation
    if base in (list, tuple, cabc.Sequence, cabc.MutableSequence):
        return isinstance(value, list | tuple)
    if base in (dict, cabc.Mapping, cabc.MutableMapping):
        return isinstance(value, dict)
    if base is bool:
        return isinstance(value, bool)
    if base is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if base is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if base is str:
        return isinstance(value, str)
    if base is os.PathLike:
        return isinstance(value, str | os.PathLike)
    if isinstance(base, type) and isinstance(value, base):
        return True
    if isinstance(base, type) and isinstance(value, dict):
        return True   # build-or-accept: a config dict for a module-typed argument
    return None


def _describe(annotation: Any) -> str:
    text = inspect.formatannotation(annotation)
    return text.replace('typing.', '').replace('NoneType', 'None')


# ------------------------------------------------------------------------------ the walk
def _lookup(type_name: Any, registry: Registry | None) -> Callable | None:
    if not isinstance(type_name, str):
        return type_name if callable(type_name) else None
    for reg in ([registry] if registry is not None else []) + list(_SEARCH_ORDER):
        found = reg.get(type_name)
        if found is not None:
            return found
    return None


def _child_registry(key: str, registry: Registry | None) -> Registry | None:
    return {'pipeline': R.TRANSFORMS, 'dataset': R.DATASETS, 'datasets': R.DATASETS}.get(key, registry)


def _check_typed(cfg: Mapping, path: str, registry: Registry | None, root: bool) -> Iterator[str]:
    target = _lookup(cfg['type'], registry)
    if target is None:
        if root:
            where = f' in the {registry.name} registry' if registry is not None else ''
            yield (f'{path}.type: {cfg["type"]!r} is not registered{where}; '
                   '`csa-bench list` shows every registered name')
        return
    name = getattr(target, '__name__', str(target))
    params, is_open = accepted_params(target)
    for key, value in cfg.items():
        if key in _SPECIAL_KEYS:
            continue
        if key not in params:
            if not is_open:
                valid = ', '.join(sorted(params)) or '(none)'
                yield f'{path}.{key}: unknown key for {name}; valid keys: {valid}'
            continue
        param = params[key]
        if key not in _OPAQUE_KEYS:
            annotation = _resolve(param.annotation, target)
            if type_matches(value, annotation) is False:
                yield (f'{path}.{key}: expected {_describe(annotation)} for {name}, '
                       f'got {type(value).__name__} {value!r}'[:300])
            yield from _walk(value, f'{path}.{key}', _child_registry(key, registry), root=key == 'pipeline')


def _walk(value: Any, path: str, registry: Registry | None, root: bool) -> Iterator[str]:
    if isinstance(value, Mapping) and 'type' in value:
        yield from _check_typed(value, path, registry, root)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _walk(item, f'{path}[{index}]', registry, root)


def config_problems(cfg: Mapping) -> list[str]:
    """Every unknown key / wrong type in the method and data sections of ``cfg`` (empty when valid)."""
    problems: list[str] = []
    if cfg.get('model') is not None:
        problems += _walk(cfg['model'], 'model', R.MODELS, root=True)
    for split in ('train', 'val', 'test'):
        loader = cfg.get(f'{split}_dataloader')
        if isinstance(loader, Mapping):
            for key, reg in (('dataset', R.DATASETS), ('sampler', R.DATA_SAMPLERS)):
                if loader.get(key) is not None:
                    problems += _walk(loader[key], f'{split}_dataloader.{key}', reg, root=True)
        if cfg.get(f'{split}_evaluator') is not None and split != 'train':
            problems += _walk(cfg[f'{split}_evaluator'], f'{split}_evaluator', R.METRICS, root=True)
    for name, hook in (cfg.get('default_hooks') or {}).items():
        if hook is not None:
            problems += _walk(hook, f'default_hooks.{name}', R.HOOKS, root=True)
    problems += _walk(list(cfg.get('custom_hooks') or []), 'custom_hooks', R.HOOKS, root=True)
    return problems


def validate_config(cfg: Mapping, error: type[Exception] = ValueError) -> None:
    """Raise ``error`` (one line listing every problem) when :func:`config_problems` finds any."""
    problems = config_problems(cfg)
    if problems:
        source = cfg.get('filename') or '<config>'
        raise error(f'{source}: {len(problems)} config problem(s): ' + ' | '.join(problems))
