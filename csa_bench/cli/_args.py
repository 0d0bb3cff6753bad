"""Argument helpers shared by the subcommands, importable without torch or mmengine.

``csa-bench --help`` builds every subcommand's parser, so nothing here (nor any ``add_parser``)
may import a heavy module: mmengine is imported when an option is actually parsed.
"""
from __future__ import annotations

import argparse
import copy
from pathlib import Path


class DictAction(argparse.Action):
    """``--cfg-options KEY=VALUE ...`` parsed exactly like ``mmengine.config.DictAction`` (it does the
    value parsing), but mmengine is imported only when the option is given."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values,
                 option_string: str | None = None) -> None:
        from mmengine.config import DictAction as MMDictAction

        options = copy.copy(getattr(namespace, self.dest, None) or {})
        for item in values or ():
            if '=' not in item:
                parser.error(f'{option_string}: {item!r} is not KEY=VALUE')
            key, value = item.split('=', maxsplit=1)
            options[key] = MMDictAction._parse_iterable(value)
        setattr(namespace, self.dest, options)


def project_default(relative: str | Path) -> Path:
    """``relative`` inside the project checkout the package was installed from, so that a command gives
    the same answer from any directory; a plain relative path when there is no checkout (a wheel)."""
    from csa_bench.plugin_loader import project_root  # stdlib only

    root = project_root()
    if (root / 'configs' / '_base_').is_dir():
        return root / relative
    return Path(relative)
