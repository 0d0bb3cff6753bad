"""Shared pieces of the synthetic writers: sizes, image encoding, deterministic ids."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

#: Dataset sizes. ``small`` is the ``make demo`` default; ``tiny`` is for tests (a few seconds).
#: LPR4M keys: ``shops`` lives x ``products`` each (one per-live gallery of ``products`` main images),
#: ``train_clips`` per product, ``test_clips`` (low, high) per product. MovingFashion keys: ``mf_products``
#: per shop (its shop count is ``shops`` x ``SHOP_SCALE``) and ``mf_test_videos`` per test product (each
#: video is one query). Test splits are sized for statistical power (docs/statistics.md): ``small`` has
#: ~1,080 LPR4M and 1,068 MovingFashion queries, so the query part of a row's 95% interval on R@1 is at
#: most ±3 points at any hit rate (1.96·sqrt(0.25/1068) = 0.030; it was ±9 with the 90 queries of
#: generator version 2), and 40-image live galleries keep R@10 below 100.
SIZES: dict[str, dict] = {
    # 2 shops x 4 products: a few hundred small JPEGs, ~1 s.
    'tiny': dict(shops=2, products=4, train_clips=2, test_clips=(1, 1), frames=(6, 12), views=2, image=96,
                 mf_products=4, mf_test_videos=1),
    # LPR4M: 6 lives x 40 products, 2 training clips and 4-5 test clips per product (~1,080 queries).
    # MovingFashion: 30 shops x 10 products, 12 test videos per test product (1,068 queries, 90 images).
    'small': dict(shops=6, products=40, train_clips=2, test_clips=(4, 5), frames=(7, 14), views=3, image=96,
                  mf_products=10, mf_test_videos=12),
    'medium': dict(shops=12, products=40, train_clips=4, test_clips=(4, 5), frames=(8, 16), views=3,
                   image=96, mf_products=16, mf_test_videos=12),
}
#: JPEG quality of written frames (small files; the artefacts are part of the realism).
JPEG_QUALITY = 90


def size_config(size: str) -> dict:
    """The size preset, or a clear error listing the valid names."""
    if size not in SIZES:
        raise ValueError(f'unknown size {size!r}; choose one of {sorted(SIZES)}')
    return SIZES[size]


def write_image(path: Path, rgb: np.ndarray) -> None:
    """Encode an RGB array to ``path`` (JPEG or PNG by suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if path.suffix.lower() in ('.jpg', '.jpeg') else []
    ok, data = cv2.imencode(path.suffix, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), params)
    if not ok:
        raise OSError(f'{path}: cannot encode image')
    path.write_bytes(data.tobytes())


def write_tsv_atomic(path: Path, rows: list[list[str]]) -> None:
    """Write tab-separated rows atomically (fields must not contain tabs or newlines)."""
    from csa_bench.utils import write_text_atomic

    for row in rows:
        for cell in row:
            if '\t' in cell or '\n' in cell:
                raise ValueError(f'{path}: a field contains a tab or newline: {cell!r}')
    write_text_atomic(path, ''.join('\t'.join(row) + '\n' for row in rows))
