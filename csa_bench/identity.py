"""Config identity: the config hash and the overrides that make a run its own leaderboard row.

Rules (``csa_bench.results`` documents them for result files; the leaderboard relies on them):

- :func:`config_hash`: sha256 of the resolved config (``cfg.to_dict()``, keys sorted) without the
  keys of :data:`NEUTRAL_KEYS`, and with the location prefixes substituted from :data:`PATH_ENV_VARS`
  written back as ``{{$VAR}}`` (:func:`path_substitutions`): a config hashes alike on every machine
  whose only difference is where the data and the pretrained weights live.
- :func:`result_overrides`: the ``--cfg-options`` outside :data:`NEUTRAL_KEYS`, i.e. those that change
  results; :func:`overrides_text` labels them, :func:`overrides_tag` names their result folder.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

#: Dotted config keys that never change a result: where/how a run executes (the checkpoint is identified
#: by its sha256, the seed by its own field), logging, checkpoint saving. Everything else is identity.
NEUTRAL_KEYS = ('work_dir', 'launcher', 'load_from', 'resume', 'filename', 'cfg_options', 'experiment_name',
                'randomness.seed', 'log_level', 'log_processor', 'visualizer', 'default_hooks.logger',
                'default_hooks.checkpoint', 'default_hooks.timer')
#: Environment variables that say *where* inputs live (data root, pretrained-weights folder).
PATH_ENV_VARS = ('CSA_DATA_ROOT', 'CSA_PRETRAINED')
# mmengine's placeholder syntax (``Config._substitute_env_variables``): ``{{$VAR:default}}``.
_ENV_PLACEHOLDER = re.compile(r'\{\{[\'"]?\s*\$(\w+)\s*:\s*(\S*?)\s*[\'"]?\}\}')


def _stable(obj: Any) -> str:
    # Callables and classes in a config hash by qualified name, never by repr (it holds addresses).
    if hasattr(obj, '__qualname__'):
        return f'{getattr(obj, "__module__", "")}.{obj.__qualname__}'
    return f'{type(obj).__name__}:{obj}'


def path_substitutions(cfg: Any) -> list[tuple[str, str]]:
    """``[(location, '{{$VAR}}')]`` for each :data:`PATH_ENV_VARS` placeholder the config file used.

    The location is the environment value mmengine substituted (``cfg.env_variables``) or, when the
    variable was unset, the placeholder's default read from the config text (``cfg.text`` holds the
    file and its bases before substitution). Longest location first. A plain dict has none.
    """
    used = dict(getattr(cfg, 'env_variables', None) or {})
    found: dict[str, set[str]] = {}
    for var, default in _ENV_PLACEHOLDER.findall(str(getattr(cfg, 'text', '') or '')):
        if var in PATH_ENV_VARS:
            found.setdefault(var, set()).add(used[var] if var in used else default)
    pairs = [(value, f'{{{{${var}}}}}') for var, values in found.items() for value in values
             if value.rstrip('/')]   # a root of '/' would claim every absolute path
    return sorted(pairs, key=lambda pair: (-len(pair[0]), pair[1]))


def _canonical_paths(node: Any, subs: list[tuple[str, str]]) -> Any:
    if isinstance(node, str):
        for value, placeholder in subs:
            prefix = value.rstrip('/')
            if node == prefix or node.startswith(prefix + '/'):
                rest = node[len(prefix):].lstrip('/')
                return placeholder + ('/' + rest if rest else '')
        return node
    if isinstance(node, Mapping):
        return {k: _canonical_paths(v, subs) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [_canonical_paths(v, subs) for v in node]
    return node


def _drop_keys(data: dict, dotted: tuple[str, ...]) -> dict:
    out = dict(data)
    for key in dotted:
        head, _, rest = key.partition('.')
        if rest and isinstance(out.get(head), Mapping):
            out[head] = _drop_keys(dict(out[head]), (rest,))
        elif not rest:
            out.pop(head, None)
    return out


def config_hash(cfg: Any) -> str:
    """sha256 of a resolved mmengine ``Config`` (or dict): identity rule in the module docstring."""
    data = cfg.to_dict() if hasattr(cfg, 'to_dict') else dict(cfg)
    data = _canonical_paths(_drop_keys(data, NEUTRAL_KEYS), path_substitutions(cfg))
    text = json.dumps(data, sort_keys=True, default=_stable)
    return hashlib.sha256(text.encode()).hexdigest()


def _json_value(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_json_value(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _json_value(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def result_overrides(cfg_options: Mapping[str, Any] | None) -> dict[str, Any]:
    """The overrides that change results: ``cfg_options`` without :data:`NEUTRAL_KEYS` (or keys below
    them), JSON values, sorted by key. Empty for a run of the config as written."""
    def neutral(key: str) -> bool:
        return any(key == n or key.startswith(n + '.') for n in NEUTRAL_KEYS)
    return {k: _json_value(v) for k, v in sorted((cfg_options or {}).items()) if not neutral(k)}


def overrides_text(overrides: Mapping[str, Any]) -> str:
    """``'train_cfg.max_iters=200, optim_wrapper.optimizer.lr=0.001'`` (``''`` for none)."""
    return ', '.join(f'{k}={v if isinstance(v, str) else json.dumps(v)}' for k, v in overrides.items())


def overrides_tag(cfg_options: Mapping[str, Any] | None) -> str:
    """A file-name-safe suffix for runs with result-changing overrides (``''`` for none): a result
    of ``config [train_cfg.max_iters=200]`` must not replace the config's own result file."""
    overrides = result_overrides(cfg_options)
    if not overrides:
        return ''
    return '@' + hashlib.sha256(json.dumps(overrides, sort_keys=True).encode()).hexdigest()[:10]
