"""``csa-bench leaderboard [--results DIR] [--out FILE] [--check]``: result JSONs -> markdown + figures.

``--check`` regenerates the markdown in memory and exits 1 when ``--out`` differs, or when a figure it
links to is missing, truncated or corrupt (figure bytes are not compared: fonts differ between
machines; ``--no-figures`` skips them). Nothing is written.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from ._args import project_default
from ._console import make_console
from .errors import CliError

if TYPE_CHECKING:
    from rich.console import Console


#: Defaults, inside the project checkout wherever the command runs (``leaderboard.DEFAULT_*``, not
#: imported here: the leaderboard package pulls in the evaluation code and ``--help`` must stay fast).
RESULTS = 'leaderboard/results'
OUT = 'leaderboard/LEADERBOARD.md'


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser('leaderboard', help='generate LEADERBOARD.md from result files')
    parser.add_argument('--results', default=str(project_default(RESULTS)),
                        help='folder of result JSONs, searched recursively (default %(default)s)')
    parser.add_argument('--out', default=str(project_default(OUT)), help='markdown file (default %(default)s); '
                        'figures go to figures/ beside it')
    parser.add_argument('--check', action='store_true',
                        help='exit 1 when --out differs from a fresh generation (writes nothing)')
    parser.add_argument('--reported', default=None,
                        help='reported-rows YAML (default: leaderboard/reported.yaml; "none" for none)')
    parser.add_argument('--no-figures', action='store_true', help='write the markdown only')
    parser.add_argument('--readme', default=None,
                        help='README whose generated leaderboard block is kept in sync (default: the '
                        "project's README.md when --out is the project's leaderboard/LEADERBOARD.md; "
                        '"none": skip)')
    return parser


def generate(results: str, out: str, *, check: bool = False, reported: str | None = None,
             figures: bool = True, console: Console | None = None, readme: str | None = None) -> int:
    """Build the leaderboard; write it, or with ``check`` compare it. Returns the exit code."""
    from rich.markup import escape

    import leaderboard

    console = console or make_console()
    kwargs = {}
    if reported is not None:
        kwargs['reported'] = None if reported.lower() == 'none' else reported
    try:
        board = leaderboard.build(results, **kwargs)
    except leaderboard.LeaderboardError as err:
        for message in err.errors:
            make_console(stderr=True).print(f'[red]invalid:[/] {escape(message)}', highlight=False, soft_wrap=True)
        raise CliError(f'{len(err.errors)} invalid or conflicting input(s); first: {err.errors[0]}') from err
    counts = (f'{board.n_files} result file(s), {board.n_reported} reported row(s), '
              f'{len(board.tables)} table(s)')
    if readme and Path(readme).is_file():
        import os

        from leaderboard.readme import readme_block, sync

        link = os.path.relpath(out, Path(readme).parent)
        stale = sync(readme, readme_block(board.tables, link), check=check)
        if stale:
            console.print(f'[red]stale:[/] {escape(stale)}', highlight=False, soft_wrap=True)
            return 1
    if check:
        reason = leaderboard.check(board, out) or (leaderboard.check_figures(board, out) if figures else None)
        if reason:
            console.print(f'[red]stale:[/] {escape(reason)}', highlight=False, soft_wrap=True)
            return 1
        console.print(f'[green]up to date:[/] {out} ({counts})', highlight=False)
        return 0
    written = leaderboard.write(board, out, figures=figures)
    console.print(f'[green]wrote[/] {out} ({counts}) and {len(written) - 1} figure(s)', highlight=False)
    return 0


def run(args: argparse.Namespace) -> int:
    results = Path(args.results)
    if not (results.is_dir() and any(results.rglob('*.json'))):
        raise CliError(f'no result files (*.json) under {results}; write some with `csa-bench reproduce` '
                       '(or `csa-bench test CONFIG --out FILE`), or name their folder with --results DIR')
    return generate(args.results, args.out, check=args.check, reported=args.reported,
                    figures=not args.no_figures, readme=readme_for(args.out, args.readme))


def readme_for(out: str, readme: str | None) -> str | None:
    """The README to sync: the explicit one, else the project's README.md, and only when ``out`` is the
    project's own ``leaderboard/LEADERBOARD.md`` (a leaderboard written elsewhere never touches it,
    wherever the command runs from)."""
    from csa_bench.plugin_loader import project_root

    if readme is not None:
        return None if readme.lower() == 'none' else readme
    root = project_root()
    if Path(out).resolve() == (root / OUT).resolve() and (root / 'README.md').is_file():
        return str(root / 'README.md')
    return None
