"""``csa-bench data synth|check``: generate the synthetic benchmark, validate a dataset root.

The format tools come from ``DATA_TOOLS`` (registered by dataset plugins, loaded here through
:func:`csa_bench.plugin_loader.load_plugins`; the core never imports a plugin by name).

``synth`` is idempotent: it writes ``.csa_bench_synth.json`` (format, seed, size) last and
atomically, and skips when that marker already matches. ``check`` prints a summary and returns 1
when it finds errors.
"""
from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .errors import CliError

#: Written last (atomically) by ``synth``; its presence with the same arguments means "complete".
MARKER = '.csa_bench_synth.json'
#: Bumped when the generator's output changes, so that an old tree is regenerated
#: (2: synthetic MovingFashion with 5x the shops; 3: test splits sized for ±3-point R@1 intervals,
#: 40-image LPR4M live galleries, several test videos per MovingFashion product).
GENERATOR_VERSION = 3
FORMATS = ('lpr4m', 'movingfashion')

console = Console()


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser('data', help='generate synthetic data or check a dataset root')
    sub = parser.add_subparsers(dest='data_command', metavar='ACTION', required=True)
    synth = sub.add_parser('synth', help='write the synthetic benchmark in a real on-disk format')
    synth.add_argument('--format', required=True, choices=FORMATS, help='on-disk format to write')
    synth.add_argument('--out', required=True, type=Path, help='output directory')
    synth.add_argument('--seed', type=int, default=0, help='random seed (same seed, same annotations)')
    synth.add_argument('--size', default='small', choices=('tiny', 'small', 'medium'), help='dataset size')
    synth.add_argument('--force', action='store_true', help='regenerate even when a complete output exists')
    check = sub.add_parser('check', help='validate a dataset root (files, rows, ids, galleries)')
    check.add_argument('root', type=Path, help='dataset root')
    check.add_argument('--format', required=True, choices=FORMATS, help='on-disk format of ROOT')
    check.add_argument('--workers', type=int, default=2, help='worker processes opening media files')
    check.add_argument('--max-errors', type=int, default=30, help='errors printed (all are counted)')
    return parser


def get_tool(name: str):
    """The ``DATA_TOOLS`` entry for a format, after loading the plugins."""
    from csa_bench.plugin_loader import load_plugins
    from csa_bench.registry import DATA_TOOLS

    load_plugins()
    tool = DATA_TOOLS.get(name)
    if tool is None:
        raise CliError(f'no data tool registered for format {name!r} (known: {sorted(DATA_TOOLS.module_dict)}); '
                       'is the dataset plugin package listed in custom_imports?')
    return tool


def synth(out: Path, fmt: str, seed: int, size: str, force: bool = False) -> dict:
    """Generate (or reuse) a synthetic tree; returns the marker content."""
    from csa_bench.utils import write_json_atomic

    wanted = {'format': fmt, 'seed': seed, 'size': size, 'generator_version': GENERATOR_VERSION}
    marker = out / MARKER
    if marker.is_file() and not force:
        found = json.loads(marker.read_text(encoding='utf-8'))
        if {k: found.get(k) for k in wanted} == wanted:
            console.print(f'[green]reusing[/] {out} (complete {fmt} data, seed {seed}, size {size})')
            return found
    if out.exists() and any(out.iterdir()):
        if not marker.is_file() and not force:
            raise CliError(f'{out} exists, is not empty and holds no synthetic-data marker; '
                           'choose another --out or pass --force to replace it')
        shutil.rmtree(out)
    start = time.perf_counter()
    summary = get_tool(fmt).synthesize(out, seed, size)
    content = dict(wanted, summary=summary)
    write_json_atomic(marker, content)
    console.print(f'[green]wrote[/] {fmt} synthetic data ({size}, seed {seed}) to {out} in '
                  f'{time.perf_counter() - start:.1f}s: ' + ', '.join(f'{k} {v}' for k, v in summary.items()))
    return content


def print_report(report, max_errors: int = 30) -> None:
    """Rich summary of a :class:`~csa_bench.datasets.check.CheckReport`."""
    counts = Table(title=f'{report.format} at {report.root} ({report.layout})')
    counts.add_column('split/role')
    counts.add_column('count', justify='right')
    for key, value in sorted(report.counts.items()):
        counts.add_row(key, str(value))
    counts.add_row('media files checked', str(report.files_checked))
    console.print(counts)
    if report.per_group:
        groups = Table(title='per livestream / source')
        roles = sorted({r for slot in report.per_group.values() for r in slot})
        groups.add_column('group')
        for role in roles:
            groups.add_column(role, justify='right')
        for group, slot in sorted(report.per_group.items()):
            groups.add_row(group, *(str(slot.get(r, 0)) for r in roles))
        console.print(groups)
    for split, stats in report.frames_per_clip.items():
        console.print(f'frames per clip ({split}): min {stats["min"]}, mean {stats["mean"]}, max {stats["max"]}')
    for line in report.warnings[:max_errors]:
        console.print(f'[yellow]warning:[/] {line}', highlight=False)
    for line in report.errors[:max_errors]:
        console.print(f'[bold red]error:[/] {line}', highlight=False)
    if len(report.errors) > max_errors:
        console.print(f'… and {len(report.errors) - max_errors} more errors')
    verdict = '[green]OK[/]' if report.ok else f'[bold red]FAILED[/] ({len(report.errors)} errors)'
    console.print(f'{verdict}, {len(report.warnings)} warnings')


def run(args: argparse.Namespace) -> int:
    if args.data_command == 'synth':
        synth(Path(args.out), args.format, args.seed, args.size, getattr(args, 'force', False))
        return 0
    root = Path(args.root)
    if not root.is_dir():
        raise CliError(f'{root}: dataset root not found')
    report = get_tool(args.format).check(root, workers=args.workers)
    print_report(report, getattr(args, 'max_errors', 30))
    return 0 if report.ok else 1
