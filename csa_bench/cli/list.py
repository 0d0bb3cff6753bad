"""``csa-bench list [REGISTRY]``: the registered names, per registry, as a rich table."""
from __future__ import annotations

import argparse

from rich.table import Table

from ._console import make_console
from .errors import CliError


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser('list', help='show registered plugins')
    parser.add_argument('registry', nargs='?', default=None,
                        help='one registry (datasets, transforms, models, metrics, protocols, ...)')
    parser.add_argument('--all', action='store_true',
                        help="include mmengine's own registrations inherited by the csa_bench scope")
    return parser


def registered_names(registry) -> list[str]:
    """Names registered in this registry itself (not its mmengine parent)."""
    return sorted(registry.module_dict)


def run(args: argparse.Namespace) -> int:
    import csa_bench.datasets  # noqa: F401  (core components register on import)
    import csa_bench.engine  # noqa: F401
    import csa_bench.evaluation  # noqa: F401
    import csa_bench.models  # noqa: F401
    from csa_bench.plugin_loader import load_plugins
    from csa_bench.registry import ALL_REGISTRIES
    load_plugins()
    if args.registry is not None and args.registry not in ALL_REGISTRIES:
        raise CliError(f'unknown registry {args.registry!r}; choose from {", ".join(ALL_REGISTRIES)}')
    names = [args.registry] if args.registry else list(ALL_REGISTRIES)
    table = Table(title='csa_bench registries (scope csa_bench)')
    table.add_column('registry')
    table.add_column('count', justify='right')
    table.add_column('names')
    for name in names:
        registry = ALL_REGISTRIES[name]
        entries = registered_names(registry)
        if args.all and registry.parent is not None:
            entries = sorted(set(entries) | set(registry.parent.module_dict))
        table.add_row(name, str(len(entries)), ', '.join(entries))
    make_console(min_width=200).print(table)
    return 0
