"""Clip-loading throughput benchmarks (pytest-benchmark; excluded from ``make test``).

Each benchmark times our loader and records the naive every-frame baseline, measured in the same
run on the same files, as ``extra_info`` ratios.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from csa_bench.benchmarks import data as bench

ARGS = argparse.Namespace(clips=4, seconds=12.0, fps=25, jpeg_frames=25, size=224, repeats=2)


@pytest.fixture(scope='module')
def files(tmp_path_factory) -> tuple[list[str], list[list[str]]]:
    return bench.make_files(Path(tmp_path_factory.mktemp('bench_data')), ARGS)


def _run(benchmark, ours, naive, clips) -> None:
    naive_rate = bench.clips_per_second(naive, clips, ARGS.repeats)
    benchmark.pedantic(lambda: [ours(c) for c in clips], rounds=ARGS.repeats, iterations=1)
    ours_rate = len(clips) / benchmark.stats.stats.min
    benchmark.extra_info.update(ours_clips_per_s=ours_rate, naive_clips_per_s=naive_rate,
                                speedup=ours_rate / naive_rate)
    assert len(ours(clips[0])) == len(naive(clips[0])) == bench.NUM_FRAMES


@pytest.mark.benchmark
def test_mp4_decord_batched_vs_every_frame(benchmark, files) -> None:
    _run(benchmark, bench.load_mp4_ours, bench.load_mp4_naive, files[0])


@pytest.mark.benchmark
def test_jpeg_folder_sampled_vs_every_frame(benchmark, files) -> None:
    _run(benchmark, bench.load_jpeg_ours, bench.load_jpeg_naive, files[1])
