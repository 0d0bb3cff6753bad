"""Load plugin packages the way a config does, for CLI commands that run without a config.

The core never imports ``plugins`` or ``baselines`` by name in code: the list comes from
``configs/_base_/default_runtime.py``'s ``custom_imports`` (or ``$CSA_BENCH_PLUGINS``), and is
imported through mmengine exactly as ``Runner`` would.
"""
from __future__ import annotations

import os
from pathlib import Path

from mmengine.config import Config
from mmengine.utils import import_modules_from_strings

#: Where the default runtime config lives, relative to the repository root.
DEFAULT_RUNTIME = Path('configs') / '_base_' / 'default_runtime.py'


def default_plugin_names() -> list[str]:
    """Plugin packages to import: ``$CSA_BENCH_PLUGINS`` (comma list) or the runtime config's."""
    env = os.environ.get('CSA_BENCH_PLUGINS')
    if env is not None:
        return [name for name in env.split(',') if name]
    for root in (Path.cwd(), Path(__file__).resolve().parent.parent):
        runtime = root / DEFAULT_RUNTIME
        if runtime.is_file():
            return list(Config.fromfile(str(runtime)).get('custom_imports', {}).get('imports', []))
    return []


def load_plugins(names: list[str] | None = None) -> list[str]:
    """Import plugin packages (registering their components); returns the names imported."""
    names = default_plugin_names() if names is None else names
    if names:
        import_modules_from_strings(names, allow_failed_imports=False)
    return names
