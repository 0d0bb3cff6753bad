"""Qualitative retrieval figures from an evaluation dump (matplotlib, Agg backend).

One PNG per query: its frames in the top row, the head of its ranked list below with scores, the
correct gallery entries outlined in green (wrong ones in grey). When the dump has no path for a
frame or image, or the file cannot be read, a grey placeholder shows the id instead (counted).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use('Agg')  # files only: never open a window (headless machines, tests)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from csa_bench.utils import atomic_write  # noqa: E402

from .dump import GT, RANKINGS, RESULT, find_dump, read_json  # noqa: E402

CORRECT, WRONG = '#2ca02c', '#9e9e9e'


@dataclass
class FigureReport:
    """What ``draw_queries`` wrote: the PNG paths and how many panels were placeholders."""

    written: list[Path] = field(default_factory=list)
    placeholders: int = 0
    unreadable: list[str] = field(default_factory=list)


def _load(path: str | None, report: FigureReport) -> np.ndarray | None:
    if not path:
        report.placeholders += 1
        return None
    try:
        with Image.open(path) as img:
            img.thumbnail((256, 256))
            return np.asarray(img.convert('RGB'))
    except (OSError, ValueError):
        report.placeholders += 1
        report.unreadable.append(str(path))
        return None


def _panel(ax: plt.Axes, image: np.ndarray | None, label: str, title: str, edge: str | None) -> None:
    if image is None:
        ax.imshow(np.full((64, 64, 3), 220, dtype=np.uint8))
        ax.text(32, 32, label, ha='center', va='center', fontsize=6, wrap=True)
    else:
        ax.imshow(image)
    ax.set_title(title, fontsize=7)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(edge is not None)
        if edge is not None:
            spine.set_edgecolor(edge)
            spine.set_linewidth(4)


def _safe_name(query_id: str) -> str:
    return re.sub(r'[^A-Za-z0-9._-]+', '_', query_id)[:120] or 'query'


def select_queries(rankings: dict, gt: dict, n: int, which: str) -> list[str]:
    """``first`` (dump order), ``misses`` (no GT at rank 1) or ``hits`` (GT at rank 1), ``n`` of them."""
    ids = list(rankings)
    if which == 'misses':
        ids = [q for q in ids if not rankings[q] or rankings[q][0][0] not in gt.get(q, ())]
    elif which == 'hits':
        ids = [q for q in ids if rankings[q] and rankings[q][0][0] in gt.get(q, ())]
    elif which != 'first':
        raise ValueError(f"selection must be 'first', 'misses' or 'hits', got {which!r}")
    return ids[:n]


def draw_queries(
    dump: str | Path,
    n: int,
    out_dir: str | Path | None = None,
    topk: int = 5,
    max_frames: int = 10,
    which: str = 'first',
) -> FigureReport:
    """Draw ``n`` queries of an evaluation dump; returns the written paths and placeholder counts."""
    folder = find_dump(dump)
    rankings, gt, result = (read_json(folder / name) for name in (RANKINGS, GT, RESULT))
    frames, images = result.get('query_frames', {}), result.get('gallery_images', {})
    out_dir = Path(out_dir) if out_dir else folder / 'figures'
    report = FigureReport()
    for qid in select_queries(rankings, gt, n, which):
        q_frames = list(frames.get(qid, []))[:max_frames] or [None]
        head = rankings[qid][:topk]
        cols = max(len(q_frames), len(head), 4)
        fig, axes = plt.subplots(2, cols, figsize=(1.6 * cols, 4.2), squeeze=False)
        for ax in axes.ravel():
            ax.axis('off')
        for c, path in enumerate(q_frames):
            axes[0, c].axis('on')
            _panel(
                axes[0, c],
                _load(path, report),
                qid if path is None else Path(path).name,
                f'frame {c}' if path else 'no frames',
                None,
            )
        for c, (gid, score) in enumerate(head):
            axes[1, c].axis('on')
            ok = gid in gt.get(qid, ())
            _panel(
                axes[1, c],
                _load(images.get(gid), report),
                gid,
                f'#{c + 1} {score:.3f}' + (' ✓' if ok else ''),
                CORRECT if ok else WRONG,
            )
        gt_text = ', '.join(gt.get(qid, []))
        fig.suptitle(f'{result.get("protocol", "?")}\n{qid}\nGT: {gt_text[:100]}', fontsize=7)
        fig.tight_layout()
        path = out_dir / f'{_safe_name(qid)}.png'
        with atomic_write(path, 'wb') as handle:
            fig.savefig(handle, format='png', dpi=100)
        plt.close(fig)
        report.written.append(path)
    return report
