"""Group rows into one table per (dataset, protocol), ranked, with "best" markers and figure names.

Ordering: reproduced rows by their first-K mean (descending), ties by label; then reported rows in
the order of ``reported.yaml`` (the papers' own order).
Best markers: per column, among reproduced rows of one comparability class: the same dataset and
protocol (the table), test annotations (checksum) and test-time setting (protocols.md §8: only those
rows are comparable; how a method scores pairs is part of the method). Rows are told apart by
``Row.key`` (config path and overrides), never by the label or config stem, which two different runs
may share.
The top row of a column is *best* (bold) only when a one-sided paired sign test over the same queries
(``csa_bench.evaluation.uncertainty.paired_sign_test``, per-query hits averaged over seeds) says it beats
the runner-up with p < 0.05; otherwise the top row and every row it does not beat at p < 0.05 are
*tied* (marked ≈). Rows without per-query data (older result files) cannot be tested: a column whose
top row or runner-up lacks it gets no mark.
Reported rows are never ranked nor marked, even when their protocol id is the table's.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from csa_bench.evaluation.uncertainty import ALPHA, hits_at_k, paired_sign_test

from .rows import Row


def _safe(name: str) -> str:
    return re.sub(r'[^A-Za-z0-9.-]+', '-', name)


@dataclass
class Table:
    """The rows of one (dataset, protocol) pair and what the markdown prints around them."""

    dataset: str
    protocol: str
    description: dict
    ks: list[int]
    reproduced: list[Row] = field(default_factory=list)
    reported: list[Row] = field(default_factory=list)
    best: set[tuple[str, int]] = field(default_factory=set)   # (row key, K) holding a best value
    tied: set[tuple[str, int]] = field(default_factory=set)   # (row key, K) not separable from the top

    @property
    def slug(self) -> str:
        """A file-name-safe id, e.g. ``synthetic-lpr4m__lpr4m-csa``."""
        return f'{_safe(self.dataset)}__{_safe(self.protocol)}'

    @property
    def has_components(self) -> bool:
        return any(row.components for row in self.reproduced + self.reported)

    @property
    def synthetic(self) -> bool:
        return self.dataset.startswith('synthetic')

    def column(self, k: int) -> str:
        """Header of the K column (``R@1``, ``top-5``...), from the protocol's ``column`` template."""
        return str(self.description.get('column', 'R@{k}')).format(k=k)

    def recall_figure(self) -> str | None:
        """Relative path of the R@K-curve figure, or None when no row has a value."""
        rows = self.reproduced + self.reported
        return f'figures/{self.slug}__recall.png' if any(r.recall for r in rows) else None


def ablation_figure(dataset: str, rows: list[Row]) -> str | None:
    """Relative path of a dataset's ablation bar chart, or None when no row lists components."""
    if not any(r.components and r.recall for r in rows):
        return None
    return f'figures/{_safe(dataset)}__ablation.png'


def _sort_key(row: Row, first_k: int | None) -> tuple:
    stat = row.recall.get(first_k) if first_k is not None else None
    return (stat is None, -(stat.mean if stat else 0.0), row.label, row.key)


def comparability_class(row: Row) -> tuple:
    """Rows whose numbers may be ranked against each other share this (module docstring)."""
    return (row.dataset, row.protocol, row.annotations, row.tta)


def _paired(a: Row, b: Row) -> bool:
    """Both rows carry per-query outcomes on the same queries (a paired test is possible)."""
    return a.ranks is not None and b.ranks is not None and a.query_ids == b.query_ids


def _mark_best(table: Table) -> None:
    groups: dict[tuple, list[Row]] = {}
    for row in table.reproduced:
        groups.setdefault(comparability_class(row), []).append(row)
    for rows in groups.values():
        if len(rows) < 2:
            continue   # a lone row is not "best" of anything
        for k in table.ks:
            ranked = sorted((row for row in rows if k in row.recall),
                            key=lambda row: (-row.recall[k].mean, row.key))
            # Compare at the printed precision: equal-looking values are never told apart.
            if len(ranked) < 2 or len({round(row.recall[k].mean, 2) for row in ranked}) == 1:
                continue
            top, runner_up = ranked[0], ranked[1]
            if not _paired(top, runner_up):
                continue   # no per-query data: the difference cannot be tested, so nothing is marked
            top_hits = hits_at_k(top.ranks, k)
            if paired_sign_test(top_hits, hits_at_k(runner_up.ranks, k)) < ALPHA:
                table.best.add((top.key, k))
                continue
            table.tied.add((top.key, k))
            table.tied.update((row.key, k) for row in ranked[1:]
                              if _paired(top, row) and paired_sign_test(top_hits, hits_at_k(row.ranks, k)) >= ALPHA)


def build_tables(reproduced: list[Row], reported: list[Row], protocols: dict[str, dict]) -> list[Table]:
    """Tables sorted by (synthetic last, dataset, protocol); see the module docstring for the order."""
    tables: dict[tuple[str, str], Table] = {}
    for row in reproduced + reported:
        key = (row.dataset, row.protocol)
        if key not in tables:
            tables[key] = Table(row.dataset, row.protocol, dict(protocols.get(row.protocol, {})), [])
        (tables[key].reproduced if row.kind == 'reproduced' else tables[key].reported).append(row)
    out = []
    for key in sorted(tables, key=lambda k: (k[0].startswith('synthetic'), k[0], k[1])):
        table = tables[key]
        ks = set(table.description.get('ks', []))
        for row in table.reproduced + table.reported:
            ks.update(row.recall)
        table.ks = sorted(ks)
        first_k = table.ks[0] if table.ks else None
        table.reproduced.sort(key=lambda r: _sort_key(r, first_k))
        _mark_best(table)
        out.append(table)
    return out
