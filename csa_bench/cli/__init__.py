"""The ``csa-bench`` command line: ``main(argv=None)`` (also ``python -m csa_bench``).

Subcommands are discovered: every module in this package that defines
``add_parser(subparsers) -> ArgumentParser`` and ``run(args) -> int`` is one ``csa-bench NAME``.
Errors a user can fix (missing config or checkpoint, unknown plugin name, bad file) are printed
as one line naming what, where and what to do, and exit with status 2.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from rich.console import Console

from .errors import CliError

console = Console(stderr=True)


def _command_modules() -> list:
    modules = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith('_') or info.name == 'errors':
            continue
        module = importlib.import_module(f'{__name__}.{info.name}')
        if hasattr(module, 'add_parser') and hasattr(module, 'run'):
            modules.append(module)
    return modules


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='csa-bench', description='Livestreaming product recognition benchmark suite (CSA/RICE + baselines).')
    subparsers = parser.add_subparsers(dest='command', metavar='COMMAND', required=True)
    for module in _command_modules():
        sub = module.add_parser(subparsers)
        sub.set_defaults(_run=module.run)
    return parser


def _one_line(err: BaseException) -> str:
    text = str(err).strip().strip('"\'') or type(err).__name__
    return ' '.join(text.split())


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``) and run the subcommand; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args([*argv] if argv is not None else None)  # `list` names the subcommand module
    try:
        return int(args._run(args) or 0)
    except CliError as err:
        console.print(f'[bold red]error:[/] {_one_line(err)}', highlight=False)
        return 2
    except KeyError as err:
        # mmengine's registry: "X is not in the csa_bench::model registry" (unknown plugin name).
        if 'registry' in str(err):
            console.print(f'[bold red]error:[/] {_one_line(err)}. Check the type name in the config; '
                          '`csa-bench list` shows every registered name.', highlight=False)
            return 2
        raise
    except FileNotFoundError as err:
        console.print(f'[bold red]error:[/] {_one_line(err)}', highlight=False)
        return 2


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
