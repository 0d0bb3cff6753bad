"""Validating a dataset root: the report type and the parallel media verification.

A format tool (``DATA_TOOLS``) parses the annotations with its dataset class, collects the media
files they name, and calls :func:`verify_media`, which opens every file in worker processes
(truncated JPEG/PNG, unreadable mp4, missing file) behind a rich progress bar.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from .media import MediaError, one_fps_indices, open_video, read_image, read_video_frames, tenframe_indices

#: Files verified per worker task (amortises process round trips over many small JPEGs).
_CHUNK = 64


@dataclass
class CheckReport:
    """What ``csa-bench data check`` found.

    Attributes:
        root: the dataset root checked.
        format: the format name (``'lpr4m'``, ``'movingfashion'``).
        layout: the layout detected (e.g. ``'lpr750k'``, ``'full'``, ``'raw'``).
        errors: one line each, naming the file (and line / id); any error fails the check.
        warnings: known, reported issues that do not fail it (e.g. the official MF missing videos).
        counts: samples per split and role, e.g. ``{'train/pair': 240, 'test/query': 90}``.
        per_group: per livestream (or source): ``{group: {'query': n, 'gallery': m}}``.
        frames_per_clip: per split, ``{'min', 'mean', 'max'}`` over clips with listed frames.
        files_checked: media files opened.
    """

    root: str
    format: str
    layout: str = ''
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    per_group: dict[str, dict[str, int]] = field(default_factory=dict)
    frames_per_clip: dict[str, dict[str, float]] = field(default_factory=dict)
    files_checked: int = 0

    @property
    def ok(self) -> bool:
        """True when no error was found."""
        return not self.errors

    def add_frame_counts(self, split: str, counts: Sequence[int]) -> None:
        """Summarise the number of frames per clip of ``split``."""
        if counts:
            self.frames_per_clip[split] = {'min': min(counts), 'mean': round(sum(counts) / len(counts), 2),
                                    'max': max(counts)}


def check_one(kind: str, path: str) -> str | None:
    """Open one media file fully; return an error line or ``None``.

    ``kind`` is ``'image'`` (complete JPEG/PNG that decodes) or ``'video'`` (decord opens it and
    decodes its 1 fps, ≤10 candidate frames in one batch).
    """
    try:
        if kind == 'image':
            read_image(path)
        else:
            reader = open_video(path)
            picks = one_fps_indices(len(reader), float(reader.get_avg_fps()))
            read_video_frames(reader, [picks[i] for i in tenframe_indices(len(picks))], path)
    except MediaError as exc:
        return str(exc)
    return None


def _check_chunk(tasks: list[tuple[str, str]]) -> list[str]:
    return [err for kind, path in tasks if (err := check_one(kind, path)) is not None]


def verify_media(tasks: Iterable[tuple[str, str]], workers: int = 1, description: str = 'checking files',
                 show_progress: bool = True) -> tuple[int, list[str]]:
    """Verify ``(kind, path)`` media files in ``workers`` processes.

    Returns:
        ``(files_checked, errors)``; errors are sorted for a stable report.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    unique = list(dict.fromkeys(tasks))
    chunks = [unique[i:i + _CHUNK] for i in range(0, len(unique), _CHUNK)]
    errors: list[str] = []
    columns = (TextColumn('{task.description}'), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, disable=not show_progress, transient=True) as progress:
        bar = progress.add_task(description, total=len(unique))
        if workers <= 1:
            for chunk in chunks:
                errors += _check_chunk(chunk)
                progress.advance(bar, len(chunk))
        else:
            with ProcessPoolExecutor(max_workers=min(workers, os.cpu_count() or 1)) as pool:
                for chunk, found in zip(chunks, pool.map(_check_chunk, chunks), strict=True):
                    errors += found
                    progress.advance(bar, len(chunk))
    return len(unique), sorted(errors)
