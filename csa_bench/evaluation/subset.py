"""Query subsets: evaluate only the queries listed in a file (the official ``lpr_eval.py -c FILE``).

The official option reads a text file, one query per line, and takes the first tab-separated
column of each line as the clip id (the other columns are ignored), so a breakdown TSV whose
first column is the clip id works as is. Both the ground truth and the predictions are restricted
to the listed ids: the denominator becomes GT ∩ subset (docs/protocols.md,
"Query subsets"). Unlike the official script, which silently ignores a listed id that is not a
query, every listed id must be a known query here: a typo would otherwise shrink the denominator
without a word.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path


class SubsetError(ValueError):
    """A query-subset file is unreadable, empty, or lists an unknown query id (the message names file and line)."""


def read_query_subset(path: str | os.PathLike) -> dict[str, int]:
    """The ids listed in ``path``: ``{query_id: 1-based line number}`` in file order.

    Blank lines are skipped; a repeated id keeps its first line.

    Raises:
        SubsetError: the file is missing, not UTF-8 text, or lists no id.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding='utf-8')
    except FileNotFoundError:
        raise SubsetError(f'query subset {path}: file not found') from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SubsetError(f'query subset {path}: cannot read it as UTF-8 text ({exc})') from None
    ids: dict[str, int] = {}
    for line_no, line in enumerate(text.splitlines(), start=1):
        query_id = line.strip().split('\t')[0].strip()
        if query_id:
            ids.setdefault(query_id, line_no)
    if not ids:
        raise SubsetError(f'query subset {path}: lists no query id (one id per line, first tab-separated column)')
    return ids


def check_known(subset: dict[str, int], known: Iterable[str], path: str | os.PathLike, what: str) -> None:
    """Raise :class:`SubsetError` naming the first listed id (file and line) that is not in ``known``.

    Args:
        subset: from :func:`read_query_subset`.
        known: every query id of the evaluation (predicted and missing ones).
        path: the subset file, for the message.
        what: where the known ids come from, for the message (e.g. ``'the GT file x.json'``).
    """
    known = set(known)
    unknown = [(line, qid) for qid, line in subset.items() if qid not in known]
    if unknown:
        line, qid = min(unknown)
        raise SubsetError(f'{path}:{line}: query id {qid!r} is not a query of {what} '
                          f'({len(unknown)} unknown id(s) listed)')
