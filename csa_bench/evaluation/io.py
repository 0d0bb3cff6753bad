"""Readers for the files ``csa-bench score`` accepts; every error names the file and the key.

* **GT** JSON (official): ``{query_id: [gallery_id, ...]}``; a single string id is accepted, and so
  is the MovingFashion ``video_to_gt.json`` shape ``{video: {"gt": id, "source": 0|1}}`` (``source``
  becomes breakdown meta).
* **Predictions** JSON (official): ``{query_id: [[gallery_id, score], ...]}`` best first; a single
  ``[gallery_id, score]`` is wrapped into a 1-element list (docs/protocols.md).
* **Predictions** ``.npz``: ``scores (Q, G)`` *or* ``query_emb (Q, E)`` + ``gallery_emb (G, E)`` (an
  evaluation dump), with ``query_ids (Q,)``, ``gallery_ids (G,)`` and optional ``query_groups``,
  ``gallery_groups`` (``''`` = none).
* **Groups** JSON: the official ``{group_id: [gallery_id, ...]}`` (``test_liveid_to_gallery_110.json``;
  a query's group then comes from the protocol's id rule), or
  ``{"query": {query_id: group}, "gallery": {gallery_id: group}}``.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .dump import read_json


class InputError(ValueError):
    """A malformed input file (the message names the file and the key)."""


@dataclass
class GroundTruth:
    """GT of ``score``: ids per query and per-query meta (breakdowns)."""

    gt: dict[str, list[str]]
    meta: dict[str, dict] = field(default_factory=dict)


def _json_object(path: str | Path, what: str) -> dict:
    try:
        data = read_json(path)
    except (OSError, ValueError) as exc:
        raise InputError(f'{what} file {path}: {exc}') from exc
    if not isinstance(data, dict):
        raise InputError(
            f'{what} file {path}: expected a JSON object {{query_id: ...}}, got {type(data).__name__}'
        )
    return data


def load_gt(path: str | Path) -> GroundTruth:
    """Read a GT JSON (formats in the module docstring)."""
    data = _json_object(path, 'GT')
    gt, meta = {}, {}
    for qid, value in data.items():
        if isinstance(value, dict):
            if 'gt' not in value:
                raise InputError(f'GT file {path}: key {qid!r}: object without a "gt" entry')
            meta[qid] = {k: v for k, v in value.items() if k != 'gt' and not isinstance(v, (list, dict))}
            value = value['gt']
        ids = [value] if isinstance(value, str) else value
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise InputError(
                f'GT file {path}: key {qid!r}: expected a gallery id or a non-empty list of ids, '
                f'got {value!r}'
            )
        gt[qid] = ids
    if not gt:
        raise InputError(f'GT file {path}: no queries')
    return GroundTruth(gt, meta)


def _is_pair(entry: object) -> bool:
    return (
        isinstance(entry, list)
        and len(entry) == 2
        and isinstance(entry[0], str)
        and isinstance(entry[1], numbers.Real)
        and not isinstance(entry[1], bool)
    )


def load_ranked_lists(path: str | Path) -> dict[str, list[tuple[str, float]]]:
    """Read official prediction JSON: ``{query_id: [(gallery_id, score), ...]}`` in the given order."""
    data = _json_object(path, 'prediction')
    out = {}
    for qid, value in data.items():
        if _is_pair(value):
            value = [value]  # the official reader wraps a single [id, score]
        if not isinstance(value, list) or not all(_is_pair(e) for e in value):
            bad = value if not isinstance(value, list) else next(e for e in value if not _is_pair(e))
            raise InputError(
                f'prediction file {path}: key {qid!r}: expected [[gallery_id, score], ...], found {bad!r:.80}'
            )
        out[qid] = [(e[0], float(e[1])) for e in value]
    return out


@dataclass
class ScoreArrays:
    """Contents of a prediction ``.npz``: a score matrix or two embedding sets, with ids and groups."""

    query_ids: list[str]
    gallery_ids: list[str]
    scores: np.ndarray | None = None
    query_emb: np.ndarray | None = None
    gallery_emb: np.ndarray | None = None
    query_groups: list[str] | None = None
    gallery_groups: list[str] | None = None


def load_npz(path: str | Path) -> ScoreArrays:
    """Read and shape-check a prediction ``.npz``."""
    try:
        npz = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputError(f'prediction file {path}: cannot read as .npz ({exc})') from exc
    keys = set(npz.files)
    for key in ('query_ids', 'gallery_ids'):
        if key not in keys:
            raise InputError(f'prediction file {path}: missing key {key!r} (has {sorted(keys)})')
    arrays = ScoreArrays([str(x) for x in npz['query_ids']], [str(x) for x in npz['gallery_ids']])
    n_q, n_g = len(arrays.query_ids), len(arrays.gallery_ids)
    if 'scores' in keys:
        arrays.scores = npz['scores']
        if arrays.scores.shape != (n_q, n_g):
            raise InputError(
                f'prediction file {path}: key \'scores\' has shape {arrays.scores.shape}, '
                f'expected (len(query_ids), len(gallery_ids)) = ({n_q}, {n_g})'
            )
    elif {'query_emb', 'gallery_emb'} <= keys:
        arrays.query_emb, arrays.gallery_emb = npz['query_emb'], npz['gallery_emb']
        if arrays.query_emb.ndim != 2 or arrays.query_emb.shape[0] != n_q:
            raise InputError(
                f"prediction file {path}: key 'query_emb' has shape {arrays.query_emb.shape}, "
                f'expected ({n_q}, E)'
            )
        if arrays.gallery_emb.ndim != 2 or arrays.gallery_emb.shape != (n_g, arrays.query_emb.shape[1]):
            raise InputError(
                f"prediction file {path}: key 'gallery_emb' has shape {arrays.gallery_emb.shape}, "
                f'expected ({n_g}, {arrays.query_emb.shape[1]})'
            )
    else:
        raise InputError(
            f"prediction file {path}: needs 'scores' or 'query_emb' + 'gallery_emb' (has {sorted(keys)})"
        )
    for key, n in (('query_groups', n_q), ('gallery_groups', n_g)):
        if key in keys:
            values = [str(x) for x in npz[key]]
            if len(values) != n:
                raise InputError(
                    f'prediction file {path}: key {key!r} has {len(values)} entries, expected {n}'
                )
            setattr(arrays, key, values)
    for key, ids in (('query_ids', arrays.query_ids),):
        if len(set(ids)) != len(ids):
            raise InputError(f'prediction file {path}: key {key!r} holds a duplicated id')
    return arrays


def load_groups(path: str | Path) -> tuple[dict[str, str] | None, dict[str, str]]:
    """Read a groups JSON: ``(query_id -> group or None, gallery_id -> group)``."""
    data = _json_object(path, 'groups')
    if set(data) == {'query', 'gallery'} and all(isinstance(v, dict) for v in data.values()):
        return {str(k): str(v) for k, v in data['query'].items()}, {
            str(k): str(v) for k, v in data['gallery'].items()
        }
    gallery: dict[str, str] = {}
    for group, ids in data.items():
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise InputError(f'groups file {path}: key {group!r}: expected a list of gallery ids')
        for gid in ids:
            if gallery.get(gid, group) != group:
                raise InputError(
                    f'groups file {path}: gallery id {gid!r} is listed under {gallery[gid]!r} and {group!r}'
                )
            gallery[gid] = group
    return None, gallery
