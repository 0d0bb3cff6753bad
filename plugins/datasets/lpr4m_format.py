"""LPR4M / LPR750K annotation rows: parsing the 10- and 11-column TSVs, and the 11 -> 10 converter.

Column layouts (datasets.md §2, §4):

- **10 columns** (LPR750K, what the official code reads): ``clip_id, frame_path_list, (unused),
  image_id, image_path, title, category_id, category_name, spu_id, asr``; paths relative to the root.
- **11 columns** (full release): ``clip_id, frame_id_list, box_list, image_id, title, category_id,
  category_name, asr, product_scale, visible_duration, product_number``. Paths follow the csa_bench
  directory convention for the full release (:data:`FRAME_TEMPLATE`, :data:`IMAGE_TEMPLATE`).

Converting 11 -> 10 (:func:`convert_row_11_to_10`, :func:`convert_tsv_11_to_10`): 1->0; frame ids
-> paths by template (2->1); 3->2; 4->3 and, by template, 4; 5, 6, 7 -> 5, 6, 7; spu empty;
8->9. The difficulty columns 9-11 have no 10-column slot: keep the 11-column file for breakdowns.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from csa_bench.datasets.parsing import AnnotationError, parse_int, parse_list_literal, read_tsv, where
from csa_bench.utils import atomic_write

#: Full-release convention: a clip's frames live in ``frames/<clip_id>/<frame_id>.jpg``.
FRAME_TEMPLATE = 'frames/{clip_id}/{frame_id}.jpg'
#: Full-release convention: every shop image lives in ``images/<image_id>.jpg``.
IMAGE_TEMPLATE = 'images/{image_id}.jpg'
#: The difficulty columns of the 11-column format, kept in ``meta`` under these names.
DIFFICULTY_KEYS = ('product_scale', 'visible_duration', 'product_number')
TSV_COLUMNS = (10, 11)


def parse_row(fields: list[str], path: str | os.PathLike, line: int, frame_template: str = FRAME_TEMPLATE,
              image_template: str = IMAGE_TEMPLATE, require_frames: bool = True) -> dict:
    """Parse one 10- or 11-column row into a dict of named fields (paths relative to the root).

    Returns:
        ``{'clip_id', 'frame_paths', 'image_id', 'image_path', 'title', 'category_id',
        'category_name', 'asr', 'meta'}``; ``meta`` holds ``spu_id`` (10 columns) or the difficulty
        columns and ``boxes`` (11 columns).

    Raises:
        AnnotationError: wrong column count, a bad list literal or a non-integer category.
    """
    if len(fields) == 10:
        clip_id, frames, _, image_id, image_path, title, cat, cat_name, spu, asr = fields
        frame_paths = [str(p) for p in parse_list_literal(frames, path, line)]
        meta = {'spu_id': spu}
    elif len(fields) == 11:
        clip_id, frames, boxes, image_id, title, cat, cat_name, asr, *difficulty = fields
        frame_ids = parse_list_literal(frames, path, line)
        frame_paths = [frame_template.format(clip_id=clip_id, frame_id=f) for f in frame_ids]
        image_path = image_template.format(image_id=image_id)
        meta = dict(zip(DIFFICULTY_KEYS, difficulty, strict=True))
        meta['boxes'] = parse_list_literal(boxes, path, line) if boxes.strip() else []
    else:
        raise AnnotationError(f'{where(path, line)}: expected 10 or 11 tab-separated columns, got {len(fields)}')
    if not clip_id or not image_id:
        raise AnnotationError(f'{where(path, line)}: empty clip id or image id')
    if require_frames and not frame_paths:
        raise AnnotationError(f'{where(path, line)}: clip {clip_id} lists no frames')
    return {'clip_id': clip_id, 'frame_paths': frame_paths, 'image_id': image_id, 'image_path': image_path,
            'title': title, 'category_id': parse_int(cat, path, line, 'category_id'),
            'category_name': cat_name, 'asr': asr, 'meta': meta}


def read_rows(path: str | os.PathLike, frame_template: str = FRAME_TEMPLATE,
              image_template: str = IMAGE_TEMPLATE,
              require_frames: bool = True) -> list[dict]:
    """Parse every row of a 10- or 11-column TSV (both may appear in one file)."""
    return [dict(parse_row(fields, path, line, frame_template, image_template, require_frames), line=line)
            for line, fields in read_tsv(path, TSV_COLUMNS)]


def convert_row_11_to_10(fields: list[str], frame_template: str = FRAME_TEMPLATE,
                         image_template: str = IMAGE_TEMPLATE, path: str = '<row>', line: int = 0) -> list[str]:
    """Map one 11-column full-release row to the 10-column LPR750K layout (module docstring)."""
    if len(fields) != 11:
        raise AnnotationError(f'{where(path, line)}: expected 11 columns to convert, got {len(fields)}')
    clip_id, frames, boxes, image_id, title, cat, cat_name, asr = fields[:8]
    frame_paths = [frame_template.format(clip_id=clip_id, frame_id=f)
                   for f in parse_list_literal(frames, path, line)]
    return [clip_id, json.dumps(frame_paths), boxes, image_id, image_template.format(image_id=image_id),
            title, cat, cat_name, '', asr]


def convert_tsv_11_to_10(src: str | os.PathLike, dst: str | os.PathLike, frame_template: str = FRAME_TEMPLATE,
                         image_template: str = IMAGE_TEMPLATE) -> int:
    """Convert a full-release 11-column TSV into a 10-column one (written atomically).

    Returns:
        The number of rows written.
    """
    count = 0
    with atomic_write(Path(dst)) as out:
        for line, fields in read_tsv(src, 11):
            out.write('\t'.join(convert_row_11_to_10(fields, frame_template, image_template, str(src),
                                                     line)) + '\n')
            count += 1
    return count
