"""How much of its gallery each ranked list covers, and repeated ids (``csa-bench score`` sanity checks).

A prediction file ranks ids; nothing forces it to rank the whole gallery or each id once. Two ways
that inflate numbers without any retrieval skill:

- **repeats**: a GT id listed 100 times counts as 100 positives (mAP 33 -> 93 in one measured case).
  :func:`dedupe_ranked` keeps each id's first occurrence and counts what it dropped;
- **partial lists**: a list holding only the GT ids gets R@1 = 100. :func:`list_coverage` compares
  each list with its query's gallery: the exact member set when a groups file gives it, else an
  *estimate*, the union of the ids listed for every query in the same scope (one global scope; the
  query's group for ``per-group`` protocols; its ``source`` meta for ``same-source``). An estimate
  can only be too small, so a list flagged partial is partial. GT ids are not added to it: a GT id
  outside its query's scope is unreachable by the protocol, not missing from the list.

Pure functions (no mmengine, no I/O).
"""
from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Coverage:
    """Coverage of a set of ranked lists (``as_dict`` is what a result file's ``coverage`` holds)."""

    queries: int                 # predicted queries checked
    full: int                    # lists that rank every id of their gallery
    repeated_ids_dropped: int    # later occurrences removed by dedupe_ranked
    queries_with_repeats: int
    shortest_list: int
    gallery: str                 # how each query's gallery was known

    def as_dict(self) -> dict:
        return {'queries': self.queries, 'full_coverage': self.full / self.queries if self.queries else 1.0,
                'queries_full_coverage': self.full, 'repeated_ids_dropped': self.repeated_ids_dropped,
                'queries_with_repeats': self.queries_with_repeats, 'shortest_list': self.shortest_list,
                'gallery': self.gallery}

    def problems(self, source: str) -> list[str]:
        """One line per problem found (empty when every list is complete and repeat-free)."""
        out = []
        if self.full < self.queries:
            out.append(f'{source}: {self.queries - self.full} of {self.queries} ranked lists do not cover their '
                       f"query's gallery ({self.gallery}); shortest list: {self.shortest_list} ids. Unlisted "
                       'gallery ids are never ranked, so R@K and mAP only describe the listed part')
        if self.repeated_ids_dropped:
            out.append(f'{source}: {self.repeated_ids_dropped} repeated gallery ids in {self.queries_with_repeats} '
                       'ranked lists were dropped (first occurrence kept) so that repeats cannot add positives')
        return out


def dedupe_ranked(lists: Mapping[str, Sequence[str]]) -> tuple[dict[str, list[str]], int, int]:
    """``(lists with each id's first occurrence only, ids dropped, lists that had repeats)``."""
    out, dropped, queries = {}, 0, 0
    for qid, ids in lists.items():
        unique = list(dict.fromkeys(ids))
        out[qid] = unique
        if len(unique) != len(ids):
            dropped += len(ids) - len(unique)
            queries += 1
    return out, dropped, queries


def list_coverage(lists: Mapping[str, Sequence[str]],
                  scope_of: Callable[[str], Hashable], members: Mapping[Hashable, set[str]] | None = None,
                  *, dropped: int = 0, with_repeats: int = 0) -> Coverage:
    """Coverage of deduplicated ``lists`` (rules in the module docstring).

    Args:
        lists: ``{query_id: [gallery_id, ...]}`` (already deduplicated).
        scope_of: a query's gallery scope (``None`` for one global gallery).
        members: exact ``{scope: gallery ids}`` (a groups file); None estimates them.
        dropped, with_repeats: what :func:`dedupe_ranked` removed (reported with the coverage).
    """
    scopes = {qid: scope_of(qid) for qid in lists}
    if members is None:
        estimated: dict[Hashable, set[str]] = {}
        for qid, ids in lists.items():
            estimated.setdefault(scopes[qid], set()).update(ids)
        galleries, how = estimated, 'estimated: the ids listed for all queries of its scope'
    else:
        galleries, how = dict(members), 'exact: the groups file'
    full = sum(galleries.get(scopes[qid], set()) <= set(ids) for qid, ids in lists.items())
    shortest = min((len(ids) for ids in lists.values()), default=0)
    return Coverage(len(lists), full, dropped, with_repeats, shortest, how)
