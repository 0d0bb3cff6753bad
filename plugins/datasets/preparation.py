"""Dataset-specific steps of ``csa-bench data prepare`` (the download/extract machinery is
:mod:`csa_bench.datasets.prepare`). docs/data_preparation.md describes the commands and outputs.

LPR4M (LPR750K package, the files the official download script fetches from
``https://csip.fzu.edu.cn/lpr4m/``): ``query.tar``, ``gallery.tar``, ``annotations.tar``,
``training_image.tar``, ``training_video_00.tar`` … ``training_video_07.tar``; no checksum is
published. After extraction, any 11-column full-release training part files found under
``annotations/`` (``training_videoinfo_full_part_*.txt``) are converted into one 10-column file,
``annotations/training_videoinfo_full_10col.txt`` (:func:`~.lpr4m_format.convert_tsv_11_to_10`).

MovingFashion: ``movingfashion.zip`` (the archive behind the SEAM README's share link; size and
sha256 from a public audit of that archive). The link is a share page, not a file URL, so without
``--url`` the archive is expected under ``<out>/downloads/``. Then the CSA preparation
(``prepare_movingfashion.py``), with its folder bug fixed:

- frames: every ``videos/<name>.mp4`` at 1 fps into ``frames/<stem>/<name>_%04d.png``
  (``<stem>`` = the name up to its first ``.``). The official script wrote them to
  ``frames/<name>/`` (``.mp4`` kept) but read ``frames/<stem>/``, so it found no frames. With
  ``ffmpeg`` on the PATH the frames are ffmpeg's own (``-vf fps=1``, as the official script);
  otherwise decord decodes the frames ffmpeg's fps filter keeps
  (:func:`csa_bench.datasets.media.one_fps_indices`); the choice is recorded as ``frame_source``.
- the five annotation files, in the official script's order and formats (JSON indented by 1,
  frame lists as JSON, at most 10 frames per video with the ``floor(i·n/10)`` rule), listing only
  videos with at least one frame; a video named by two test products keeps the last one.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from csa_bench.datasets.media import MediaError, one_fps_indices, open_video, read_video_frames, tenframe_indices
from csa_bench.datasets.prepare import Archive, PrepareError
from csa_bench.utils import atomic_write

from .lpr4m_format import convert_tsv_11_to_10

LPR4M_URL = 'https://csip.fzu.edu.cn/lpr4m/'
LPR4M_ARCHIVES = tuple(Archive(name) for name in (
    'query.tar', 'gallery.tar', 'annotations.tar', 'training_image.tar',
    *(f'training_video_{i:02d}.tar' for i in range(8))))
#: Where the SEAM README sends users; a share page (not a direct file), hence no default --url.
MOVINGFASHION_PAGE = 'https://bit.ly/4bTZGeS'
MOVINGFASHION_ARCHIVES = (Archive('movingfashion.zip', size=25925189869, strip_top=True,
                                  sha256='20ae89a67a58d3dfc2304c2533d5a5c684eb6888aec9a7d7d3eda22b0a81f5f4'),)
CONVERTED_TRAIN_FILE = 'training_videoinfo_full_10col.txt'
NUM_FRAMES = 10


# ----------------------------------------------------------------------------- LPR4M
def prepare_lpr4m(root: Path, log: Callable[[str], None] = print) -> dict:
    """Convert the 11-column full-release training parts under ``annotations/`` (if any); returns counts."""
    parts = sorted((root / 'annotations').glob('training_videoinfo_full_part_*.txt'))
    if not parts:
        return {'converted_rows': 0}
    # Outside annotations/: every file there is part of the data root's annotation checksum.
    tmp_dir = root / '.csa_bench_convert.tmp'
    if tmp_dir.exists():   # left by an interrupted run of this step
        shutil.rmtree(tmp_dir)
    tmp_dir.mkdir()
    total = 0
    pieces = []
    for part in parts:
        piece = tmp_dir / part.name
        total += convert_tsv_11_to_10(part, piece)
        pieces.append(piece)
    with atomic_write(root / 'annotations' / CONVERTED_TRAIN_FILE) as out:
        for piece in pieces:
            out.write(piece.read_text(encoding='utf-8'))
    shutil.rmtree(tmp_dir)
    log(f'converted {len(parts)} 11-column part file(s), {total} rows -> annotations/{CONVERTED_TRAIN_FILE}')
    return {'converted_rows': total}


# ----------------------------------------------------------------------------- MovingFashion
def _stem(name: str) -> str:
    return os.path.basename(name).split('.')[0]


def _extract_with_ffmpeg(ffmpeg: str, video: Path, folder: Path) -> None:
    done = subprocess.run([ffmpeg, '-nostdin', '-loglevel', 'error', '-i', str(video), '-vf', 'fps=1',
                           str(folder / f'{video.name}_%04d.png')], capture_output=True, text=True)
    if done.returncode != 0:
        raise PrepareError(f'{video}: ffmpeg failed: {done.stderr.strip()[:300]}')


def _extract_with_decord(video: Path, folder: Path) -> None:
    import cv2

    reader = open_video(video)
    picks = one_fps_indices(len(reader), float(reader.get_avg_fps()), rule='ffmpeg')
    if not picks:
        return
    for number, frame in enumerate(read_video_frames(reader, picks, video), start=1):
        # ffmpeg numbers its output from 0001
        if not cv2.imwrite(str(folder / f'{video.name}_{number:04d}.png'), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)):
            raise PrepareError(f'{folder}: cannot write PNG frames')


def extract_frames(root: Path, log: Callable[[str], None] = print, use_ffmpeg: bool | None = None) -> str:
    """Frames of every ``videos/*.mp4`` into ``frames/<stem>/``; returns the frame source.

    Each video is written to ``frames/<stem>.tmp`` and renamed when complete, so an interrupted run
    redoes only the video it was on; an existing ``frames/<stem>`` is kept. A video that cannot be
    decoded is reported and gets no folder (the annotations then leave it out, as the official script).
    """
    ffmpeg = shutil.which('ffmpeg') if use_ffmpeg is not False else None
    if use_ffmpeg and ffmpeg is None:
        raise PrepareError('ffmpeg was asked for but is not on the PATH')
    source = 'ffmpeg-1fps' if ffmpeg else 'decord-1fps'
    videos = sorted(p for p in (root / 'videos').glob('*.mp4') if p.is_file()) if (root / 'videos').is_dir() else []
    failed = 0
    for video in videos:
        final = root / 'frames' / _stem(video.name)
        if final.is_dir():
            continue
        tmp = final.with_name(final.name + '.tmp')
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        try:
            _extract_with_ffmpeg(ffmpeg, video, tmp) if ffmpeg else _extract_with_decord(video, tmp)
        except (MediaError, PrepareError) as err:
            failed += 1
            log(f'warning: {err}; {video.name} gets no frames')
            shutil.rmtree(tmp)
            continue
        os.replace(tmp, final)
    log(f'frames: {len(videos) - failed} of {len(videos)} video(s) extracted at 1 fps ({source})')
    return source


def _frame_list(root: Path, stem: str) -> list[str]:
    """Sorted ``frames/<stem>/*.png`` (relative), then at most 10 by ``floor(i·n/10)``; [] without frames."""
    folder = root / 'frames' / stem
    if not folder.is_dir():
        return []
    names = sorted(t for t in os.listdir(folder) if t.endswith('.png'))
    return [f'frames/{stem}/{names[i]}' for i in tenframe_indices(len(names), NUM_FRAMES)]


def _load_split(root: Path, split: str) -> dict:
    from csa_bench.datasets.parsing import expect_type, load_json

    path = root / f'{split}.json'
    if not path.is_file():
        raise PrepareError(f'{path} not found: the MovingFashion archive was not extracted into {root}')
    return expect_type(load_json(path), dict, path, '<root>')


def write_annotations(root: Path) -> dict:
    """The five CSA annotation files under ``annotations/`` (module docstring); returns counts."""
    test, train = _load_split(root, 'test'), _load_split(root, 'train')
    ann = root / 'annotations'
    ann.mkdir(exist_ok=True)
    video_to_gt: dict[str, dict] = {}
    queries: dict[str, dict] = {}
    rows, gallery = [], []
    for product, entry in test.items():
        if len(entry.get('video_paths', [])) != 1:
            raise PrepareError(f'{root / "test.json"}: product {product}: expected exactly one video in the '
                               'test split')
        video_path, image_path, source = entry['video_paths'][0], entry['img_path'], entry['source']
        stem = _stem(video_path)
        rows.append(f'{stem}\t{video_path}\t{image_path}\t{source}\n')
        gallery.append(f'{image_path}\n')
        frames = _frame_list(root, stem)
        if not frames:
            continue
        video_to_gt[stem] = {'gt': _stem(image_path), 'source': source}   # last product wins
        queries[stem] = {'frames': frames, 'gt': video_to_gt[stem]['gt']}
    training = []
    for entry in train.values():
        image_path, source = entry['img_path'], entry['source']
        for video_path in entry['video_paths']:
            stem = _stem(video_path)
            frames = _frame_list(root, stem)
            if frames:
                training.append(f'{stem}\t{json.dumps(frames)}\t{_stem(image_path)}\t{image_path}\t{source}\n')
    outputs = {'videoid_videopath_imagepath_srcid.txt': ''.join(rows), 'gallery_full.txt': ''.join(gallery),
               'video_to_gt.json': json.dumps(video_to_gt, indent=1),
               'query_tenframes.json': json.dumps(queries, indent=1),
               'training_videoinfo_full.txt': ''.join(training)}
    for name, text in outputs.items():
        with atomic_write(ann / name) as out:
            out.write(text)
    return {'test_rows': len(rows), 'queries': len(queries), 'train_rows': len(training)}


def prepare_movingfashion(root: Path, log: Callable[[str], None] = print, use_ffmpeg: bool | None = None) -> dict:
    """Frames, then annotations (the CSA preparation with its folder fixed); returns counts and frame source."""
    source = extract_frames(root, log, use_ffmpeg)
    counts = write_annotations(root)
    log(f'annotations: {counts["test_rows"]} test rows, {counts["queries"]} queries with frames, '
        f'{counts["train_rows"]} training rows -> {root / "annotations"}')
    return dict(counts, frame_source=source)
