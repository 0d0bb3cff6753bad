"""``csa-bench show RESULT``: qualitative figures (query frames + ranked gallery) from an evaluation dump.

``RESULT`` is the ``dump_dir`` a ``RetrievalMetric(dump_dir=...)`` run wrote, or one of its files.
"""

from __future__ import annotations

import argparse

from csa_bench.cli._console import make_console
from csa_bench.cli.errors import CliError


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        'show', help='draw query / top-K figures from an evaluation dump', description=__doc__
    )
    parser.add_argument('result', help='evaluation dump folder (or its result.json / rankings.json)')
    parser.add_argument('--queries', type=int, default=8, help='how many queries to draw')
    parser.add_argument('--out', help='output folder (default: <dump>/figures)')
    parser.add_argument('--topk', type=int, default=5, help='gallery entries per query')
    parser.add_argument(
        '--select',
        default='first',
        choices=['first', 'misses', 'hits'],
        help='which queries: dump order, rank-1 misses, or rank-1 hits',
    )
    return parser


def run(args: argparse.Namespace) -> int:
    from csa_bench.evaluation.figures import draw_queries

    if args.queries < 1 or args.topk < 1:
        raise CliError('--queries and --topk must be at least 1')
    try:
        report = draw_queries(args.result, args.queries, args.out, topk=args.topk, which=args.select)
    except (FileNotFoundError, ValueError) as exc:
        raise CliError(str(exc)) from exc
    console = make_console()
    if not report.written:
        raise CliError(f'{args.result}: no query matched --select {args.select}')
    console.print(f'{len(report.written)} figure(s) written to {report.written[0].parent}')
    if report.placeholders:
        unreadable = ''
        if report.unreadable:
            unreadable = f', {len(report.unreadable)} unreadable, e.g. {report.unreadable[0]}'
        console.print(f'[yellow]{report.placeholders} panel(s) drawn as placeholders[/] '
                      f'(no path in the dump{unreadable})')
    return 0
