"""The csa_bench leaderboard: result JSONs + reported rows -> ``LEADERBOARD.md`` and figures.

Modules: ``rows`` (load, validate, aggregate seeds, detect conflicts), ``tables`` (group per
(dataset, protocol), order, best markers), ``render`` (markdown), ``figures`` (PNG).
``reported.yaml`` holds the published numbers (the only hand-typed ones); ``protocols.yaml`` the
protocol descriptions printed above each table.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .render import render_markdown
from .rows import (
    PROTOCOLS_FILE,
    REPORTED_FILE,
    LeaderboardError,
    Row,
    _registered_protocols,
    load_protocols,
    load_reported,
    load_results,
    reproduced_rows,
)
from .tables import Table, build_tables

__all__ = ['DEFAULT_OUT', 'DEFAULT_RESULTS', 'Leaderboard', 'LeaderboardError', 'Row', 'Table', 'build',
           'check', 'check_figures', 'write']

#: Defaults of ``csa-bench leaderboard`` (relative to the repository root, where the CLI runs).
DEFAULT_RESULTS = Path('leaderboard') / 'results'
DEFAULT_OUT = Path('leaderboard') / 'LEADERBOARD.md'


@dataclass
class Leaderboard:
    """A generated leaderboard: its tables, markdown text and input counts."""

    tables: list[Table]
    markdown: str
    n_files: int
    n_reported: int


def describe_registered(info: dict) -> dict:
    """Header fields from a registered protocol's ``describe()`` (a result's ``protocol_info``)."""
    kind = str(info.get('metric_kind', ''))
    denominators = {'all-gt': 'every ground-truth query is in the denominator; a query without prediction '
                              'is a miss',
                    'predicted': 'ground truth filtered to predicted queries'}
    return {'source': info.get('source'), 'gallery': info.get('gallery_text'), 'frames': info.get('frames'),
            'queries': denominators.get(info.get('denominator'), info.get('denominator')),
            'metric': kind, 'ks': list(info.get('k_list', [])),
            'column': 'top-{k}' if kind.startswith('top-k') else 'R@{k}'}


def build(results_dir: str | os.PathLike = DEFAULT_RESULTS,
          reported: str | os.PathLike | None = REPORTED_FILE,
          protocols: str | os.PathLike = PROTOCOLS_FILE) -> Leaderboard:
    """Load, validate and render (in memory; nothing is written).

    Args:
        results_dir: Folder searched recursively for result ``*.json`` files (missing = none).
        reported: The reported-rows file; None for no reported rows.
        protocols: Protocol descriptions; ids registered in ``csa_bench``'s PROTOCOLS are also accepted.

    Raises:
        LeaderboardError: invalid or conflicting inputs (every problem listed, file and field named).
    """
    descriptions = load_protocols(protocols)
    known = set(descriptions) | _registered_protocols()
    records = load_results(results_dir, known)
    for _, record in records:   # a registered protocol missing from protocols.yaml describes itself
        if record['protocol'] not in descriptions and record['protocol_info']:
            descriptions[record['protocol']] = describe_registered(record['protocol_info'])
    reported_rows = load_reported(reported, known) if reported is not None else []
    tables = build_tables(reproduced_rows(records), reported_rows, descriptions)
    return Leaderboard(tables, render_markdown(tables, len(records), len(reported_rows)), len(records),
                       len(reported_rows))


def write(board: Leaderboard, out: str | os.PathLike = DEFAULT_OUT, figures: bool = True) -> list[Path]:
    """Write, with ``figures``, its PNGs next to ``out``, then the markdown; returns the paths (markdown first).

    Every file is written atomically, and the markdown last: a run killed while drawing leaves the
    previous markdown, which ``--check`` then reports as stale.
    """
    from csa_bench.utils import write_text_atomic

    out = Path(out)
    drawn = []
    if figures:
        from .figures import write_figures
        drawn = write_figures(board.tables, out.parent)
    write_text_atomic(out, board.markdown)
    return [out, *drawn]


def check(board: Leaderboard, out: str | os.PathLike = DEFAULT_OUT) -> str | None:
    """None when ``out`` equals the generated markdown, else a one-line reason it is stale."""
    out = Path(out)
    if not out.is_file():
        return f'{out} does not exist'
    current = out.read_text(encoding='utf-8')
    if current == board.markdown:
        return None
    old, new = current.splitlines(), board.markdown.splitlines()
    diffs = (i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b)
    line = next(diffs, min(len(old), len(new)))
    return f'{out} is stale (first difference at line {line + 1}); regenerate with `csa-bench leaderboard`'


def check_figures(board: Leaderboard, out: str | os.PathLike = DEFAULT_OUT) -> str | None:
    """None when every figure ``out`` links to exists beside it and decodes, else a one-line reason.

    Figure bytes differ between machines (fonts), so a figure is checked for completeness, not content.
    """
    from .figures import check_figures as _check

    return _check(board.tables, Path(out).parent)
