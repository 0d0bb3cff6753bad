"""``csa-bench doctor [CONFIG…]``: preflight checks, each miss with its fix; exit 1 when a required check fails.

The checks and their rules are :mod:`csa_bench.engine.doctor`'s; this module parses and prints.
Without configs it checks every file of the weights manifest under ``$CSA_PRETRAINED`` and the machine.
"""
from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

_STYLE = {'ok': '[green]ok[/]', 'warn': '[yellow]warn[/]', 'fail': '[bold red]FAIL[/]'}


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser('doctor', help='check data, weights, GPU and disk before a run')
    parser.add_argument('configs', nargs='*', metavar='CONFIG', help='config files to check (none: the weights '
                        'manifest under $CSA_PRETRAINED and the machine)')
    parser.add_argument('--data', choices=('quick', 'full', 'skip'), default='quick',
                        help='quick: parse annotations only; full: also open every media file (= data check); '
                        'skip: only the data root must exist (default %(default)s)')
    parser.add_argument('--work-dir', default='work_dirs', help='where runs will write (free disk is checked there)')
    parser.add_argument('--min-free-gb', type=float, default=None,
                        help='free disk wanted (default 20 GiB with a real-data config, 1 GiB otherwise)')
    parser.add_argument('--workers', type=int, default=2, help='processes opening media files (--data full)')
    return parser


def print_reports(reports, console: Console | None = None) -> bool:
    """Print one table per report and a verdict line; returns True when every required check passed."""
    console = console or Console()
    for report in reports:
        title = report.config if report.config else 'this machine'
        if report.config and report.synthetic:
            title += ' (synthetic)'
        table = Table(title=title, show_lines=False, title_justify='left')
        for name in ('check', 'status', 'detail', 'fix'):
            table.add_column(name, overflow='fold')
        for check in report.checks:
            table.add_row(check.name, _STYLE[check.status], check.detail, check.fix)
        console.print(table)
    failed = [(r, c) for r in reports for c in r.checks if c.status == 'fail']
    if failed:
        console.print(f'[bold red]doctor: {len(failed)} required check(s) failed[/]', highlight=False)
        for report, check in failed:
            console.print(f'  {report.config or "machine"}: {check.name}: {check.fix}', highlight=False,
                          soft_wrap=True)
    else:
        warned = sum(c.status == 'warn' for r in reports for c in r.checks)
        console.print('[green]doctor: all required checks passed[/]' + (f' ({warned} warning(s))' if warned else ''),
                      highlight=False)
    return not failed


def run(args: argparse.Namespace) -> int:
    from csa_bench.engine.doctor import run_doctor

    reports = run_doctor(args.configs, work_dir=args.work_dir, data=args.data, workers=args.workers,
                         min_free_gb=args.min_free_gb)
    # Wide enough that a fix (a URL, a command) stays on one line when piped.
    return 0 if print_reports(reports, Console(width=max(Console().width, 160))) else 1
