"""``csa-bench bench NAME``: throughput benchmarks (data loading, evaluation, training overhead)."""
from __future__ import annotations

import argparse
import ast
import importlib
import pkgutil
from pathlib import Path

import csa_bench.benchmarks as benchmarks_pkg  # an empty package: the benchmarks import torch, so lazily


def _benchmark_names() -> dict[str, str | None]:
    """Benchmark module name -> first docstring line, read without importing it (``--help`` stays fast)."""
    found = {}
    for info in sorted(pkgutil.iter_modules(benchmarks_pkg.__path__), key=lambda m: m.name):
        if info.name.startswith('_'):
            continue
        try:
            source = Path(benchmarks_pkg.__path__[0], f'{info.name}.py').read_text(encoding='utf-8')
            doc = ast.get_docstring(ast.parse(source))
        except (OSError, SyntaxError):
            doc = None
        found[info.name] = doc.strip().splitlines()[0] if doc else None
    return found


class _LazyBenchmarks(argparse._SubParsersAction):
    """Adds a benchmark's own arguments (``add_arguments``) when its name is parsed, so only the chosen
    benchmark module (and torch) is imported."""

    def __call__(self, parser, namespace, values, option_string=None):
        name = values[0]
        bench_parser = self._name_parser_map.get(name)
        if bench_parser is not None and bench_parser.get_default('_bench') is None:
            module = importlib.import_module(f'{benchmarks_pkg.__name__}.{name}')
            if not (hasattr(module, 'run') and hasattr(module, 'add_arguments')):
                parser.error(f'benchmark {name!r} defines no run/add_arguments')
            module.add_arguments(bench_parser)
            bench_parser.set_defaults(_bench=module)
        super().__call__(parser, namespace, values, option_string)


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser('bench', help='run a throughput benchmark (ratios measured in one run)')
    parser.register('action', 'lazy_parsers', _LazyBenchmarks)
    sub = parser.add_subparsers(dest='bench_name', metavar='NAME', required=True, action='lazy_parsers')
    for name, help_line in _benchmark_names().items():
        bench_parser = sub.add_parser(name, help=help_line)
        bench_parser.add_argument('--out', help='also write the figures as JSON here')
        bench_parser.set_defaults(_bench=None)
    return parser


def run(args: argparse.Namespace) -> int:
    from rich.table import Table

    from csa_bench.utils import write_json_atomic

    from ._console import make_console

    figures = args._bench.run(args)
    table = Table(title=f'csa-bench bench {args.bench_name}')
    table.add_column('figure')
    table.add_column('value', justify='right')
    for key, value in figures.items():
        table.add_row(key, f'{value:.4g}' if isinstance(value, float) else str(value))
    make_console().print(table)
    if args.out:
        write_json_atomic(args.out, figures)
    return 0
