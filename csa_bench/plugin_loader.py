"""Load plugin packages the way a config does, for CLI commands that run without a config.

The core never imports ``plugins`` or ``baselines`` by name in code: the list comes from the
*installed project's* ``configs/_base_/default_runtime.py`` (``custom_imports``) or from
``$CSA_BENCH_PLUGINS``, and is imported through mmengine exactly as ``Runner`` would.

Nothing is read from the current directory: a ``configs/`` or ``plugins/`` folder in the directory
the shell stands in is never executed (issue 14). The project is located from the installed
package (:func:`project_root`); the plugin packages are imported with the project root first on
``sys.path`` and are refused when they would still come from somewhere else (e.g. a same-named
package earlier on ``PYTHONPATH``).
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path

#: Where the default runtime config lives, relative to the project root.
DEFAULT_RUNTIME = Path('configs') / '_base_' / 'default_runtime.py'


class ProjectLayoutError(FileNotFoundError):
    """The installed project lacks a file it needs (e.g. ``configs/``); the message says what to do."""


def project_root() -> Path:
    """The checkout holding the installed ``csa_bench`` package (its parent folder).

    ``configs/``, ``leaderboard/`` and ``README.md`` live there in a source checkout or an editable
    install (``pip install -e .``); a wheel install has no ``configs/`` (see :func:`project_configs`).
    """
    import csa_bench

    return Path(csa_bench.__file__).resolve().parents[1]


def project_configs() -> Path:
    """The project's ``configs/`` folder, or :class:`ProjectLayoutError` naming where it was looked for."""
    configs = project_root() / 'configs'
    if not (configs / '_base_').is_dir():
        raise ProjectLayoutError(f'{configs}: the csa_bench configs are not installed next to the package; '
                                 'install from a checkout with `pip install -e .`, or name the configs '
                                 'explicitly (`--configs DIR`, $CSA_BENCH_PLUGINS)')
    return configs


def default_plugin_names() -> list[str]:
    """Plugin packages to import: ``$CSA_BENCH_PLUGINS`` (comma list) or the project's runtime config's."""
    env = os.environ.get('CSA_BENCH_PLUGINS')
    if env is not None:
        return [name for name in env.split(',') if name]
    from mmengine.config import Config

    runtime = project_configs().parent / DEFAULT_RUNTIME
    if not runtime.is_file():
        raise ProjectLayoutError(f'{runtime}: the default runtime config is missing from the installed project; '
                                 'restore it, or set $CSA_BENCH_PLUGINS=plugins,baselines')
    # import_custom_modules=False: the names are imported below, with the project first on sys.path.
    cfg = Config.fromfile(str(runtime), import_custom_modules=False)
    return list(cfg.get('custom_imports', {}).get('imports', []))


@contextlib.contextmanager
def project_first_on_path() -> Iterator[Path]:
    """Put the project root first on ``sys.path`` (and drop the current directory's entries) meanwhile.

    ``python -m csa_bench`` puts the current directory first on ``sys.path``, so a ``plugins/``
    folder there would shadow the project's. Restored on exit.
    """
    root = project_root()
    saved = list(sys.path)
    cwd = os.getcwd()
    sys.path[:] = [str(root)] + [p for p in saved if os.path.abspath(p or '.') not in (cwd, str(root))]
    try:
        yield root
    finally:
        sys.path[:] = saved


def drop_script_cwd() -> None:
    """Remove the current directory that ``python -m csa_bench`` put first on ``sys.path``.

    Otherwise a ``plugins/`` (or any imported name) in the folder the shell stands in would be
    imported by configs' ``custom_imports``. Kept when it is the project root itself (a checkout
    run without installing); ``PYTHONPATH`` entries the user set are left alone.
    """
    if not sys.path or sys.flags.safe_path:
        return
    first = os.path.abspath(sys.path[0] or '.')
    if first == os.getcwd() and Path(first).resolve() != project_root():
        del sys.path[0]


def _check_origin(name: str, root: Path) -> None:
    """Refuse a default plugin package that resolves outside the project (found without running it)."""
    top = name.split('.')[0]
    if top in sys.modules:
        origin = getattr(sys.modules[top], '__file__', None)
    else:
        spec = importlib.util.find_spec(top)
        origin = spec.origin if spec is not None else None
    if origin is None:
        return   # not importable: mmengine's import raises the usual ImportError
    if not Path(origin).resolve().is_relative_to(root):
        raise ProjectLayoutError(f'plugin package {top!r} would be imported from {origin}, not from the '
                                 f'installed project {root}; remove that folder from sys.path/PYTHONPATH, '
                                 'or set $CSA_BENCH_PLUGINS to the packages you mean')


def load_plugins(names: list[str] | None = None) -> list[str]:
    """Import plugin packages (registering their components); returns the names imported.

    ``names=None``: the project's defaults (:func:`default_plugin_names`), which must come from the
    project itself. Explicit names (or ``$CSA_BENCH_PLUGINS``) are imported as given.
    """
    from mmengine.utils import import_modules_from_strings

    from_project = names is None and os.environ.get('CSA_BENCH_PLUGINS') is None
    names = default_plugin_names() if names is None else names
    if not names:
        return names
    if not from_project:
        import_modules_from_strings(names, allow_failed_imports=False)
        return names
    with project_first_on_path() as root:
        for name in names:
            _check_origin(name, root)
        import_modules_from_strings(names, allow_failed_imports=False)
    return names
