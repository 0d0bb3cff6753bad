"""The synthetic size presets: ``small`` has the statistical power docs/statistics.md promises, ``tiny``
stays small for the tests, and several test videos per MovingFashion product are written correctly."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from csa_bench.cli.data import GENERATOR_VERSION
from plugins.datasets.synthetic import common
from plugins.datasets.synthetic.movingfashion import SHOP_SCALE, TEST_SHARE, write_movingfashion


def _lpr4m_queries(cfg: dict) -> tuple[int, int]:
    """(fewest, expected) LPR4M test queries of a preset."""
    lo, hi = cfg['test_clips']
    products = cfg['shops'] * cfg['products']
    return products * lo, int(products * (lo + hi) / 2)


def _movingfashion_queries(cfg: dict) -> int:
    """MovingFashion test queries: one per test video, the last test product's videos replaced by one shared."""
    per_shop = max(1, int(round(cfg['mf_products'] * TEST_SHARE)))
    return (cfg['shops'] * SHOP_SCALE * per_shop - 1) * cfg['mf_test_videos']


def _half_width(queries: int, p: float = 0.5) -> float:
    return 100 * 1.96 * math.sqrt(p * (1 - p) / queries)


def test_small_has_three_point_intervals_and_large_live_galleries() -> None:
    small = common.SIZES['small']
    fewest, expected = _lpr4m_queries(small)
    assert expected >= 1068 and _half_width(expected) <= 3.0
    assert fewest >= 960 and _half_width(fewest, 0.4) <= 3.1   # even the fewest-clips draw at R@1 = 40
    assert _movingfashion_queries(small) >= 1068 and _half_width(_movingfashion_queries(small)) <= 3.0
    assert small['products'] >= 30   # per-live gallery: R@10 over 40 images is not a sure hit
    assert GENERATOR_VERSION >= 3


def test_tiny_stays_tiny() -> None:
    tiny = common.SIZES['tiny']
    assert _lpr4m_queries(tiny)[1] <= 10 and _movingfashion_queries(tiny) <= 15


def test_several_test_videos_per_movingfashion_product(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(common.SIZES, 'tiny', dict(common.SIZES['tiny'], mf_test_videos=3))
    summary = write_movingfashion(tmp_path, 5, 'tiny', shop_scale=1)
    test = json.loads((tmp_path / 'test.json').read_text())
    counts = [len(entry['video_paths']) for entry in test.values()]
    assert counts[:-1] == [3] * (len(counts) - 1) and counts[-1] == 1
    shared = list(test.values())[-1]['video_paths'][0]
    assert shared == list(test.values())[-2]['video_paths'][0]   # the multi-positive query
    train = json.loads((tmp_path / 'train.json').read_text())
    listed = {p for entry in [*test.values(), *train.values()] for p in entry['video_paths']}
    on_disk = {p.relative_to(tmp_path).as_posix() for p in (tmp_path / 'videos').glob('*.mp4')}
    assert listed == on_disk and summary['videos'] == len(on_disk)   # no orphan video left behind


def test_unknown_size_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match='unknown size'):
        common.size_config('huge')
