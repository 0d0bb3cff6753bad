"""Leaderboard figures (matplotlib, Agg backend): R@K curves per table, an ablation chart per dataset.

PNGs are written without the matplotlib version in their metadata, so a re-run on the same versions
gives the same bytes, and atomically (a temporary sibling, then a rename), so a killed run leaves
the previous figure, never a truncated one. ``--check`` cannot compare the bytes (font rendering
differs between machines); it checks that every linked figure exists and decodes completely
(:func:`check_figures`).
"""
from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen before pyplot is imported)

from .rows import Row, Stat  # noqa: E402
from .tables import Table, ablation_figure  # noqa: E402

_METADATA = {'Software': None}   # no version string: identical inputs give identical files


def _save(fig, path: Path) -> None:
    from csa_bench.utils import atomic_write

    try:
        with atomic_write(path, 'wb') as handle:
            fig.savefig(handle, format='png', dpi=110, metadata=_METADATA)
    finally:
        plt.close(fig)


def _error_bar(stat: Stat) -> tuple[float, float]:
    """(below, above) the mean: the 95% interval where known, else ± the seed std (0 for one seed)."""
    if stat.low is not None and stat.high is not None:
        return max(stat.mean - stat.low, 0.0), max(stat.high - stat.mean, 0.0)
    return stat.std or 0.0, stat.std or 0.0


def _yerr(stats: list[Stat]) -> list[list[float]] | None:
    """matplotlib's asymmetric ``yerr`` (2, n), or None when every bar would have zero height."""
    bars = [_error_bar(s) for s in stats]
    return [[b[0] for b in bars], [b[1] for b in bars]] if any(b[0] or b[1] for b in bars) else None


def recall_curves(table: Table, path: str | os.PathLike) -> None:
    """One line per row: R@K (y) against K (x), 95% interval error bars (seed std for rows without
    per-query data); reported rows dashed."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for row in table.reproduced + table.reported:
        ks = sorted(row.recall)
        if not ks:
            continue
        means = [row.recall[k].mean for k in ks]
        errs = _yerr([row.recall[k] for k in ks])   # reported and single-seed legacy rows: no zero caps
        style = '--' if row.kind == 'reported' else '-'
        label = f'{row.label} (reported)' if row.kind == 'reported' else row.label
        ax.errorbar(ks, means, yerr=errs, fmt=style + 'o', markersize=4, capsize=3, label=label)
    ax.set_xticks(table.ks)
    ax.set_xlabel('K')
    ax.set_ylabel(f'{table.column(table.ks[0]).rstrip("0123456789")}K (%)' if table.ks else '%')
    ax.set_title(f'{table.dataset} · {table.protocol}', fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, loc='lower right')
    fig.tight_layout()
    _save(fig, Path(path))


def _series_name(row: Row) -> str:
    if row.kind == 'reported':
        return f'reported: {row.protocol}, tta={row.tta}'
    return f'reproduced: {row.protocol}, tta={row.tta}'


def ablation_chart(dataset: str, rows: list[Row], path: str | os.PathLike) -> None:
    """Grouped bars: x = component set (ICL, ICL+PMD, ...), one series per (provenance, protocol, tta),
    height = the row's first-K value (95% interval error bars, or the seed std without per-query data).
    Series are not comparable with each other."""
    rows = [r for r in rows if r.components and r.recall]
    sets = sorted({r.components for r in rows}, key=lambda c: (len(c), c))
    series: dict[str, dict[tuple, Row]] = {}
    for row in sorted(rows, key=lambda r: (r.kind, r.protocol, r.tta, r.label)):
        # Several runs with one component set in a series (e.g. encoder variants): the best first-K is kept.
        slot = series.setdefault(_series_name(row), {})
        kept = slot.get(row.components)
        if kept is None or row.recall[min(row.recall)].mean > kept.recall[min(kept.recall)].mean:
            slot[row.components] = row
    fig, ax = plt.subplots(figsize=(7, 4.2))
    width = 0.8 / max(len(series), 1)
    for index, (name, slot) in enumerate(sorted(series.items())):
        xs, heights, stats = [], [], []
        for x, comps in enumerate(sets):
            if comps in slot:
                stat = slot[comps].recall[min(slot[comps].recall)]
                xs.append(x + (index - (len(series) - 1) / 2) * width)
                heights.append(stat.mean)
                stats.append(stat)
        ax.bar(xs, heights, width=width * 0.95, yerr=_yerr(stats), capsize=3, label=name,
               hatch='//' if name.startswith('reported') else None, alpha=0.85)
    ax.set_xticks(range(len(sets)))
    ax.set_xticklabels(['+'.join(c) for c in sets])
    ax.set_ylabel('first K of the protocol (R@1 / top-1), %')
    ax.set_title(f'Ablation on {dataset} (series are not comparable with each other)', fontsize=10)
    ax.grid(axis='y', alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, Path(path))


def _figures(tables: list[Table]) -> list[tuple[str, object]]:
    """``(relative path, draw(path))`` for every figure the markdown links to."""
    found = []
    for table in tables:
        rel = table.recall_figure()
        if rel:
            found.append((rel, lambda path, t=table: recall_curves(t, path)))
    for dataset in sorted({t.dataset for t in tables}):
        rows = [r for t in tables if t.dataset == dataset for r in t.reproduced + t.reported]
        rel = ablation_figure(dataset, rows)
        if rel:
            found.append((rel, lambda path, d=dataset, r=rows: ablation_chart(d, r, path)))
    return found


def write_figures(tables: list[Table], out_dir: str | os.PathLike) -> list[Path]:
    """Write every figure the markdown links to, under ``out_dir``; returns their paths."""
    out_dir, written = Path(out_dir), []
    for rel, draw in _figures(tables):
        draw(out_dir / rel)
        written.append(out_dir / rel)
    return written


def png_problem(path: str | os.PathLike) -> str | None:
    """None when ``path`` is a complete PNG that decodes, else why not (missing, truncated, corrupt)."""
    from PIL import Image

    path = Path(path)
    if not path.is_file():
        return f'{path} does not exist'
    try:
        with Image.open(path) as image:
            if image.format != 'PNG':
                return f'{path} is not a PNG ({image.format})'
            image.verify()           # chunk CRCs up to IEND: a truncated file fails here
        with Image.open(path) as image:
            image.load()             # and the pixel data decodes
    except Exception as exc:   # noqa: BLE001  (PIL raises several types for broken files)
        return f'{path} is truncated or corrupt ({type(exc).__name__}: {exc})'
    return None


def check_figures(tables: list[Table], out_dir: str | os.PathLike) -> str | None:
    """None when every figure the markdown links to exists under ``out_dir`` and decodes, else the
    first problem with what to do."""
    for rel, _ in _figures(tables):
        problem = png_problem(Path(out_dir) / rel)
        if problem:
            return f'{problem}; regenerate with `csa-bench leaderboard`'
    return None
