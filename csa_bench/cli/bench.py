"""``csa-bench bench NAME``: throughput benchmarks (data loading, evaluation, training overhead)."""
from __future__ import annotations

import argparse
import importlib
import pkgutil

from rich.console import Console
from rich.table import Table

import csa_bench.benchmarks as benchmarks_pkg
from csa_bench.utils import write_json_atomic


def _benchmarks() -> dict:
    found = {}
    for info in sorted(pkgutil.iter_modules(benchmarks_pkg.__path__), key=lambda m: m.name):
        if info.name.startswith('_'):
            continue
        module = importlib.import_module(f'{benchmarks_pkg.__name__}.{info.name}')
        if hasattr(module, 'run') and hasattr(module, 'add_arguments'):
            found[info.name] = module
    return found


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser('bench', help='run a throughput benchmark (ratios measured in one run)')
    sub = parser.add_subparsers(dest='bench_name', metavar='NAME', required=True)
    for name, module in _benchmarks().items():
        bench_parser = sub.add_parser(name, help=(module.__doc__ or '').strip().splitlines()[0]
                                      if module.__doc__ else None)
        bench_parser.add_argument('--out', help='also write the figures as JSON here')
        module.add_arguments(bench_parser)
        bench_parser.set_defaults(_bench=module)
    return parser


def run(args: argparse.Namespace) -> int:
    figures = args._bench.run(args)
    table = Table(title=f'csa-bench bench {args.bench_name}')
    table.add_column('figure')
    table.add_column('value', justify='right')
    for key, value in figures.items():
        table.add_row(key, f'{value:.4g}' if isinstance(value, float) else str(value))
    Console().print(table)
    if args.out:
        write_json_atomic(args.out, figures)
    return 0
