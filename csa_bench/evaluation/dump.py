"""Evaluation dumps: embeddings + rankings, so a run can be re-scored without re-encoding.

A dump folder holds (each file written atomically; one folder per run, nothing merged by glob):

* ``embeddings.npz``: ``query_emb (Q, E)`` float32, ``gallery_emb (G, E)`` float32, ``query_ids (Q,)``,
  ``gallery_ids (G,)``, ``query_groups (Q,)``, ``gallery_groups (G,)`` (str arrays, ``''`` = no group);
  ``csa-bench score --pred embeddings.npz`` re-scores it.
* ``rankings.json``: ``{query_id: [[gallery_id, score], ...]}``, the head of each ranked list, best first
  (the official prediction format).
* ``gt.json``: ``{query_id: [gallery_id, ...]}``: every query of the denominator, missing ones included.
* ``result.json``: metrics, the protocol (id and fields), scoring label, counts, and the paths for
  figures: ``query_frames {query_id: [frame paths]}`` and ``gallery_images {gallery_id: path}`` (only
  those the predictions carried).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from torch import Tensor

from csa_bench.utils import atomic_write, write_json_atomic

EMBEDDINGS = 'embeddings.npz'
RANKINGS = 'rankings.json'
GT = 'gt.json'
RESULT = 'result.json'


def json_safe(value: object) -> object:
    """Replace non-finite floats (``inf`` median rank) by ``None`` so the JSON stays standard."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def rankings_to_official(
    query_ids: list[str], gallery_ids: list[str], topk_index: Tensor, topk_score: Tensor
) -> dict[str, list[list]]:
    """``{query_id: [[gallery_id, score], ...]}`` from ``(Q, k)`` index / score tensors (``-1`` padded)."""
    out = {}
    for qid, row, scores in zip(query_ids, topk_index.tolist(), topk_score.tolist(), strict=True):
        out[qid] = [[gallery_ids[j], float(s)] for j, s in zip(row, scores, strict=True) if j >= 0]
    return out


def write_dump(
    dump_dir: str | Path,
    *,
    query_emb: Tensor,
    gallery_emb: Tensor,
    query_ids: list[str],
    gallery_ids: list[str],
    query_groups: list[str],
    gallery_groups: list[str],
    rankings: dict[str, list[list]],
    gt: dict[str, list[str]],
    result: dict,
) -> Path:
    """Write the four dump files into ``dump_dir``; returns the folder."""
    dump_dir = Path(dump_dir)
    dump_dir.mkdir(parents=True, exist_ok=True)
    with atomic_write(dump_dir / EMBEDDINGS, 'wb') as handle:
        np.savez(
            handle,
            query_emb=query_emb.float().numpy(),
            gallery_emb=gallery_emb.float().numpy(),
            query_ids=np.array(query_ids, dtype=str),
            gallery_ids=np.array(gallery_ids, dtype=str),
            query_groups=np.array(query_groups, dtype=str),
            gallery_groups=np.array(gallery_groups, dtype=str),
        )
    write_json_atomic(dump_dir / RANKINGS, rankings, indent=None)
    write_json_atomic(dump_dir / GT, gt, indent=None)
    write_json_atomic(dump_dir / RESULT, json_safe(result))
    return dump_dir


def find_dump(path: str | Path) -> Path:
    """The dump folder of ``path`` (the folder itself or one of its files)."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    if not (folder / RESULT).is_file() or not (folder / RANKINGS).is_file():
        raise FileNotFoundError(f'{path}: not an evaluation dump (needs {RESULT} and {RANKINGS} in {folder})')
    return folder


def read_json(path: str | Path) -> object:
    """Load a JSON file; the error names the file."""
    try:
        with open(path, encoding='utf-8') as handle:
            return json.load(handle)
    except json.JSONDecodeError as exc:
        raise ValueError(f'{path}: invalid JSON ({exc})') from exc
