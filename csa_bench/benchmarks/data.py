"""Clip-loading throughput (clips/s, 10 frames): ours vs decoding every frame, in the same run.

Two sources, each timed against its naive baseline on the same files:

* ``mp4``: ours = ``InitVideoReader`` (1 fps candidates, ≤10) + ``SampleFrames`` + ``LoadFrames``
  (one decord ``get_batch`` of the 10 frames); naive = open the video and read **every** frame
  one by one with ``vr[i]``, then keep the same 10.
* ``jpeg``: ours = ``SampleFrames`` + ``LoadFrames`` (10 verified JPEG decodes); naive = decode
  **every** frame of the folder, then subsample.

Files are generated in a temporary folder (moving content, so the codec has real work).
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from csa_bench.datasets.media import one_fps_indices, open_video, tenframe_indices
from csa_bench.datasets.transforms import InitVideoReader, LoadFrames, SampleFrames, uniform_indices

NUM_FRAMES = 10


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--clips', type=int, default=6, help='clips per source')
    parser.add_argument('--seconds', type=float, default=20.0, help='mp4 duration (s)')
    parser.add_argument('--fps', type=int, default=25, help='mp4 frame rate')
    parser.add_argument('--jpeg-frames', type=int, default=25,
                        help='frames per JPEG folder (LPR4M test: ~25)')
    parser.add_argument('--size', type=int, default=256, help='frame side in pixels')
    parser.add_argument('--repeats', type=int, default=3, help='timed passes over the clips (best is kept)')


def _frame(t: int, size: int) -> np.ndarray:
    """A frame with a gradient and a moving square (compressible but not trivial)."""
    yy, xx = np.mgrid[0:size, 0:size]
    img = np.stack([(xx + 3 * t) % 256, (yy + 2 * t) % 256, (xx + yy) // 2 % 256], -1).astype(np.uint8)
    x = (5 * t) % (size - size // 4)
    img[size // 3:size // 3 + size // 4, x:x + size // 4] = (240, 30, 30)
    return img


def make_files(root: Path, args: argparse.Namespace) -> tuple[list[str], list[list[str]]]:
    """Write the benchmark clips: ``(mp4 paths, JPEG folders as frame path lists)``."""
    videos, folders = [], []
    total = int(args.seconds * args.fps)
    for c in range(args.clips):
        path = root / f'clip{c}.mp4'
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), args.fps, (args.size, args.size))
        for t in range(total):
            writer.write(_frame(t + 7 * c, args.size))
        writer.release()
        videos.append(str(path))
        frames = []
        for t in range(args.jpeg_frames):
            fpath = root / f'clip{c}' / f'{t:04d}.jpg'
            fpath.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(fpath), _frame(3 * t + c, args.size))
            frames.append(str(fpath))
        folders.append(frames)
    return videos, folders


def load_mp4_ours(path: str) -> list[np.ndarray]:
    results = {'video_path': path}
    for transform in (InitVideoReader(fps=1.0, max_frames=NUM_FRAMES), SampleFrames(NUM_FRAMES,
                                                                                    test_mode=True),
                      LoadFrames()):
        results = transform(results)
    return results['imgs']


def load_mp4_naive(path: str) -> list[np.ndarray]:
    reader = open_video(path)
    every = [reader[i].asnumpy() for i in range(len(reader))]  # sequential, one frame at a time
    picks = one_fps_indices(len(every), float(reader.get_avg_fps()))
    return [every[picks[i]] for i in tenframe_indices(len(picks), NUM_FRAMES)]


def load_jpeg_ours(paths: list[str]) -> list[np.ndarray]:
    results = {'frame_paths': paths}
    for transform in (SampleFrames(NUM_FRAMES, test_mode=True), LoadFrames()):
        results = transform(results)
    return results['imgs']


def load_jpeg_naive(paths: list[str]) -> list[np.ndarray]:
    every = [cv2.cvtColor(cv2.imread(p), cv2.COLOR_BGR2RGB) for p in paths]
    return [every[i] for i in uniform_indices(len(every), NUM_FRAMES)]


def clips_per_second(loader, clips: list, repeats: int) -> float:
    """Best-of-``repeats`` throughput of ``loader`` over ``clips``."""
    best = float('inf')
    for _ in range(repeats):
        start = time.perf_counter()
        for clip in clips:
            loader(clip)
        best = min(best, time.perf_counter() - start)
    return len(clips) / best


def measure(args: argparse.Namespace) -> dict:
    """Run both sources; returns throughputs and ratios (ours / naive)."""
    with tempfile.TemporaryDirectory(prefix='csa_bench_data_') as tmp:
        videos, folders = make_files(Path(tmp), args)
        for ours, naive, clips in ((load_mp4_ours, load_mp4_naive, videos), (load_jpeg_ours,
                                                                             load_jpeg_naive, folders)):
            a, b = ours(clips[0]), naive(clips[0])
            if len(a) != len(b):  # same frame choice, so the comparison is like for like
                raise RuntimeError(f'ours and naive disagree on the frame count: {len(a)} vs {len(b)}')
        figures = {
            'mp4_ours_clips_per_s': clips_per_second(load_mp4_ours, videos, args.repeats),
            'mp4_naive_clips_per_s': clips_per_second(load_mp4_naive, videos, args.repeats),
            'jpeg_ours_clips_per_s': clips_per_second(load_jpeg_ours, folders, args.repeats),
            'jpeg_naive_clips_per_s': clips_per_second(load_jpeg_naive, folders, args.repeats),
        }
    figures['mp4_speedup'] = figures['mp4_ours_clips_per_s'] / figures['mp4_naive_clips_per_s']
    figures['jpeg_speedup'] = figures['jpeg_ours_clips_per_s'] / figures['jpeg_naive_clips_per_s']
    figures['setup'] = {k: getattr(args, k) for k in ('clips', 'seconds', 'fps', 'jpeg_frames', 'size',
                                                      'repeats')}
    return figures


def run(args: argparse.Namespace) -> dict:
    """Measure and return the figures (``csa-bench bench data`` prints them and writes ``--out``)."""
    return measure(args)
